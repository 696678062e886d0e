using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SmartApp.Tests.EndToEnd;

/// <summary>
/// Data tables mirrored to SmartSQL from the Cosmos change feed, against a fake Raindrop that runs
/// the SQL it receives on a real SQLite database: the statements it gets, the rows it ends up with,
/// questions answered there for the user's own tables only, and what happens when it fails.
/// </summary>
[Collection(RaindropCollection.Name)]
public sealed class RaindropDataTests(RaindropDevHostFixture app)
{
    private FakeRaindrop Raindrop => app.Raindrop;

    /// <summary>The SQL table of a user's table: "u", 12 hex digits of SHA-256 of the user id, "_", the table.</summary>
    private static string SqlTable(string userId, string table) => $"u{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(userId)))[..12]}_{table}";


    private static async Task<JsonElement> AskAsync(HttpClient user, string question)
    {
        using var response = await user.PostAsJsonAsync("data/ask", new { question });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        return body;
    }

    private static string[] Ids(JsonElement answer) => [.. answer.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()!).Order()];

    private async Task<(HttpClient User, string UserId)> UserAsync(string who)
    {
        var (user, signIn) = await app.SignInAsync(TestUsers.NewEmail(who));
        return (user, signIn.GetProperty("user").GetProperty("id").GetString()!);
    }

    private IEnumerable<string> Statements(string sqlTable) =>
        Raindrop.Received.Where(r => r.Verb == "execute_query" && ((string?)r.Body["sqlQuery"])?.Contains(sqlTable, StringComparison.Ordinal) == true).Select(r => (string)r.Body["sqlQuery"]!);

    [Fact]
    public async Task Tables_become_SQL_tables_and_questions_are_answered_by_SmartSQL_from_the_users_own_tables_only()
    {
        var (alice, aliceId) = await UserAsync("sql-alice");
        foreach (var person in DataTests.People) await DataTests.PostAsync(alice, "people", person);
        var table = SqlTable(aliceId, "people");
        await Eventually.UntilAsync(() => (Raindrop.Rows(table).Count == 4), "the four records are rows in SmartSQL");

        var statements = Statements(table).ToList();
        Assert.StartsWith($"CREATE TABLE IF NOT EXISTS \"{table}\" (\"id\" TEXT PRIMARY KEY", statements[0], StringComparison.Ordinal);
        Assert.Contains($"ALTER TABLE \"{table}\" ADD COLUMN \"age\" INTEGER", statements);
        Assert.Contains($"ALTER TABLE \"{table}\" ADD COLUMN \"address\" TEXT", statements);
        Assert.Single(statements, s => s.StartsWith("INSERT OR REPLACE", StringComparison.Ordinal) && s.Contains("'Dee O''Neil'", StringComparison.Ordinal));
        var dee = Raindrop.Rows(table).Single(r => (string?)r["id"] == "dee");
        Assert.Equal(("Dee O'Neil", 52L, "Faro", "[]", 1L), ((string?)dee["name"], (long?)dee["age"], (string?)dee["city"], (string?)dee["tags"], (long?)dee["vip"]));
        Assert.Equal("8000", JsonNode.Parse((string)dee["address"]!)!["zip"]!.GetValue<string>());
        Assert.Null(Raindrop.Rows(table).Single(r => (string?)r["id"] == "cai")["vip"]); // a field a record lacks is NULL

        // Bob has a table of the same name; each is asked about their own.
        var (bob, bobId) = await UserAsync("sql-bob");
        await DataTests.PostAsync(bob, "people", new { id = "zed", name = "Zed", city = "Lisbon" });
        await Eventually.UntilAsync(() => (Raindrop.Rows(SqlTable(bobId, "people")).Count == 1), "Bob's record is a row");
        JsonElement answer = default;
        await Eventually.UntilAsync(async () => (answer = await AskAsync(alice, "Who lives in Lisbon?")).GetProperty("provider").GetString() == "raindrop", "SmartSQL answers Alice");
        Assert.Equal(["ana", "cai"], Ids(answer));
        Assert.Contains(table, answer.GetProperty("sql").GetString());
        Assert.Equal(2, answer.GetProperty("rows").GetArrayLength());
        await Eventually.UntilAsync(async () => (answer = await AskAsync(bob, "Who lives in Lisbon?")).GetProperty("provider").GetString() == "raindrop", "SmartSQL answers Bob");
        Assert.Equal(["zed"], Ids(answer));

        // An answer that reads beyond the user's tables is dropped: the model's query answers instead.
        var original = app.Model.Reply;
        Raindrop.AnswerFromEveryTable = true;
        try
        {
            app.Model.Reply = _ => """{"table":"people","where":[{"field":"city","op":"eq","value":"Lisbon"}]}""";
            answer = await AskAsync(alice, "Who lives in Lisbon?");
            Assert.Equal("azure", answer.GetProperty("provider").GetString());
            Assert.Equal(["ana", "cai"], Ids(answer));
            Assert.DoesNotContain("zed", answer.ToString());
        }
        finally
        {
            Raindrop.AnswerFromEveryTable = false;
            app.Model.Reply = original;
        }

        // Changes and deletes follow; a dropped table is dropped.
        using (var patch = await alice.PatchAsJsonAsync("data/tables/people/records/ana", new { city = "Porto" }))
            Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        using (var delete = await alice.DeleteAsync("data/tables/people/records/ben"))
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        await Eventually.UntilAsync(() => (Raindrop.Rows(table) is { Count: 3 } rows && rows.Any(r => (string?)r["id"] == "ana" && (string?)r["city"] == "Porto")), "the change and the delete reach SmartSQL");
        Assert.Contains($"DELETE FROM \"{table}\" WHERE \"id\" = 'ben'", Statements(table));
        using (var drop = await alice.DeleteAsync("data/tables/people"))
            Assert.Equal(HttpStatusCode.NoContent, drop.StatusCode);
        await Eventually.UntilAsync(() => (!Raindrop.Tables.Contains(table)), "the table is dropped in SmartSQL");
        Assert.Contains(SqlTable(bobId, "people"), Raindrop.Tables);
    }

    [Fact]
    public async Task Records_written_and_deleted_while_SmartSQL_fails_reach_it_in_order_once_each_and_questions_are_answered_meanwhile()
    {
        var (user, userId) = await UserAsync("sql-outage");
        await DataTests.PostAsync(user, "orders", new { id = "o1", item = "kettle", qty = 1 });
        var table = SqlTable(userId, "orders");
        await Eventually.UntilAsync(() => (Raindrop.Rows(table).Count == 1), "the first order is a row");

        var original = app.Model.Reply;
        Raindrop.Fault = FakeRaindropFault.ServerError;
        try
        {
            await DataTests.PostAsync(user, "orders", new { id = "o2", item = "teapot", qty = 2 });
            await DataTests.PostAsync(user, "orders", new { id = "o3", item = "mug", qty = 6 });
            using (var delete = await user.DeleteAsync("data/tables/orders/records/o1"))
                Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);

            app.Model.Reply = _ => """{"table":"orders","where":[{"field":"qty","op":"gt","value":1}]}""";
            var answer = await AskAsync(user, "Which orders have more than one item?");
            Assert.Equal("azure", answer.GetProperty("provider").GetString());
            Assert.Equal(["o2", "o3"], Ids(answer));
            var refused = Raindrop.Refused;
            await Eventually.UntilAsync(() => Raindrop.Refused > refused + 2, "the mirror tries, and is refused, meanwhile");
            Assert.Single(Raindrop.Rows(table));
        }
        finally
        {
            Raindrop.Fault = FakeRaindropFault.None;
            app.Model.Reply = original;
        }

        await Eventually.UntilAsync(() => (Raindrop.Rows(table).Select(r => (string?)r["id"]).SequenceEqual(["o2", "o3"])), "the backlog reaches SmartSQL");
        var writes = Statements(table).Where(s => !s.StartsWith("ALTER", StringComparison.Ordinal) && !s.StartsWith("CREATE", StringComparison.Ordinal))
            .Select(s => s.StartsWith("DELETE", StringComparison.Ordinal) ? "delete:" + s[(s.LastIndexOf('=') + 3)..^1] : "put:" + s.Split("VALUES ('")[1].Split('\'')[0]).ToList();
        Assert.Equal(["put:o1", "put:o2", "put:o3", "delete:o1"], writes);
        Assert.Equal("mug", (string?)Raindrop.Rows(table).Single(r => (string?)r["id"] == "o3")["item"]);
    }

    [Fact]
    public async Task A_statement_SmartSQL_reports_failed_in_a_200_answer_is_tried_again_never_taken_as_mirrored()
    {
        var (alice, aliceId) = await UserAsync("sql-status");
        var table = SqlTable(aliceId, "notes");
        var refused = Raindrop.Refused;
        Raindrop.FailInBody("execute_query", 1000); // 200 with status: 400, as SmartSQL reports a statement it could not run
        try
        {
            await DataTests.PostAsync(alice, "notes", new { id = "n1", text = "hello" });
            await Eventually.UntilAsync(() => Raindrop.Refused >= refused + 6, "the statement is tried again and again");
            Assert.Empty(Raindrop.Rows(table));
            Assert.DoesNotContain(Statements(table), s => s.StartsWith("INSERT", StringComparison.Ordinal));
        }
        finally
        {
            Raindrop.FailInBody("execute_query", 0);
        }
        await Eventually.UntilAsync(() => Raindrop.Rows(table).Count == 1, "the row arrives once SmartSQL runs the statements");
    }
}
