using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SmartApp.Tests.EndToEnd;

/// <summary>
/// Files mirrored to Raindrop (SmartBuckets) from the Cosmos change feed, against a fake Raindrop on
/// loopback: what reaches it and in what shape, and what users see when it fails.
/// </summary>
[Collection(RaindropCollection.Name)]
public sealed class RaindropFileTests(RaindropDevHostFixture app)
{
    private const string Notes = "Harbour notes\n\nThe ferry to the island leaves at seven every morning.\n\nThe lighthouse is closed on Mondays.";

    private FakeRaindrop Raindrop => app.Raindrop;

    private static string Key(string userId, string fileId) => $"users/{userId}/{fileId}";

    private IEnumerable<(string Verb, JsonObject Body)> ReceivedFor(string key) =>
        Raindrop.Received.Where(r => (string?)r.Body["key"] == key || (string?)r.Body["objectId"] == key);


    private async Task<(HttpClient User, string UserId, string FileId)> MirroredFileAsync(string text = Notes, string name = "harbour.txt")
    {
        var (user, signIn) = await app.SignInAsync(TestUsers.NewEmail("raindrop"));
        var userId = signIn.GetProperty("user").GetProperty("id").GetString()!;
        var fileId = (await FileTests.UploadAsync(user, Encoding.UTF8.GetBytes(text), name, "text/plain")).GetProperty("id").GetString()!;
        await FileTests.WaitForAsync(user, fileId, "indexed");
        await Eventually.UntilAsync(() => ReceivedFor(Key(userId, fileId)).Any(r => r.Verb == "put_object"), "the file reached Raindrop");
        return (user, userId, fileId);
    }

    private static async Task<JsonElement> SearchAsync(HttpClient user, string query)
    {
        using var response = await user.PostAsJsonAsync("files/search", new { query });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        return body;
    }

    [Fact]
    public async Task A_file_is_put_in_the_bucket_with_its_bytes_then_searched_asked_and_deleted_there()
    {
        var (user, userId, fileId) = await MirroredFileAsync();
        var key = Key(userId, fileId);

        var put = Assert.Single(ReceivedFor(key), r => r.Verb == "put_object").Body;
        Assert.Equal(Notes, Encoding.UTF8.GetString(Convert.FromBase64String((string)put["content"]!)));
        Assert.Equal("text/plain", (string?)put["contentType"]);
        var bucket = put["bucketLocation"]!["bucket"]!;
        Assert.Equal(("e2e-files", "smartapp-e2e", "01jtryx2f2f61ryk06vd8mr91p"), ((string?)bucket["name"], (string?)bucket["applicationName"], (string?)bucket["version"]));

        // Served by Raindrop once the worker answering knows the mirror has the file (the other worker learns it from the ledger within a second or two).
        var found = default(JsonElement);
        await Eventually.UntilAsync(async () => (found = await SearchAsync(user, "when does the ferry leave")).GetProperty("provider").GetString() == "raindrop", "search served by Raindrop");
        var hit = found.GetProperty("results")[0];
        Assert.Equal(fileId, hit.GetProperty("fileId").GetString());
        Assert.Equal("harbour.txt", hit.GetProperty("fileName").GetString());
        Assert.Contains("ferry to the island", hit.GetProperty("text").GetString());
        Assert.Equal("raindrop", hit.GetProperty("provider").GetString());
        var search = Raindrop.Received.Last(r => r.Verb == "search").Body;
        Assert.Equal("when does the ferry leave", (string?)search["input"]);
        Assert.False(string.IsNullOrEmpty((string?)search["requestId"]));
        Assert.Equal("e2e-files", (string?)search["bucketLocations"]![0]!["bucket"]!["name"]);

        var answer = default(JsonElement);
        await Eventually.UntilAsync(async () =>
        {
            using var asked = await user.PostAsJsonAsync($"files/{fileId}/ask", new { question = "Is the lighthouse open on Mondays?" });
            return (answer = await asked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("provider").GetString() == "raindrop";
        }, "the question answered by Raindrop");
        Assert.StartsWith(FakeRaindrop.AnswerPrefix, answer.GetProperty("answer").GetString());
        Assert.Contains("lighthouse is closed on Mondays", answer.GetProperty("answer").GetString());
        Assert.Single(ReceivedFor(key), r => r.Verb == "document_query");

        // Another user's search never shows this user's passages, though the bucket has them.
        var (other, _) = await app.SignInAsync(TestUsers.NewEmail("raindrop-other"));
        Assert.Empty((await SearchAsync(other, "when does the ferry leave")).GetProperty("results").EnumerateArray());

        using (var deleted = await user.DeleteAsync($"files/{fileId}")) Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await Eventually.UntilAsync(() => ReceivedFor(key).Any(r => r.Verb == "delete_object"), "the delete reached Raindrop");
        Assert.DoesNotContain(key, Raindrop.Keys);
        Assert.Empty((await SearchAsync(user, "when does the ferry leave")).GetProperty("results").EnumerateArray());
    }

    [Theory]
    [InlineData("rate-limited")]
    [InlineData("server-error")]
    [InlineData("hanging")]
    [InlineData("stopped")]
    public async Task While_raindrop_fails_users_are_served_locally_and_changes_reach_it_afterwards_in_order_once(string failure)
    {
        var (user, userId, kept) = await MirroredFileAsync();
        string added;
        try
        {
            switch (failure)
            {
                case "rate-limited": Raindrop.Fault = FakeRaindropFault.RateLimited; break;
                case "server-error": Raindrop.Fault = FakeRaindropFault.ServerError; break;
                case "hanging": Raindrop.Fault = FakeRaindropFault.Hang; break;
                default: await Raindrop.StopAsync(); break;
            }

            // Written during the outage: a new file, then the first one deleted.
            added = (await FileTests.UploadAsync(user, Encoding.UTF8.GetBytes("Outage log\n\nThe generator was refuelled at noon."), "outage.txt", "text/plain"))
                .GetProperty("id").GetString()!;
            await FileTests.WaitForAsync(user, added, "indexed");
            using (var deleted = await user.DeleteAsync($"files/{kept}")) Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);

            // Reads still answer, from the local search.
            var found = await SearchAsync(user, "when was the generator refuelled");
            Assert.Equal("azure", found.GetProperty("provider").GetString());
            Assert.Equal(added, found.GetProperty("results")[0].GetProperty("fileId").GetString());
            using (var asked = await user.PostAsJsonAsync($"files/{added}/ask", new { question = "When was the generator refuelled?" }))
            {
                Assert.Equal(HttpStatusCode.OK, asked.StatusCode);
                Assert.Equal("azure", (await asked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("provider").GetString());
            }

            // The backlog shows in the health details.
            var (admin, _) = await app.SignInAsync(TestUsers.AdminEmail);
            await Eventually.UntilAsync(() =>
            {
                var details = admin.GetFromJsonAsync<JsonElement>("health/details").GetAwaiter().GetResult();
                var raindrop = details.GetProperty("dependencies").GetProperty("raindrop");
                return raindrop.GetProperty("status").GetString() == "degraded" && raindrop.GetProperty("backlog").GetInt32() > 0;
            }, "health details report the backlog");
            Assert.Empty(ReceivedFor(Key(userId, added)));
        }
        finally
        {
            Raindrop.Fault = FakeRaindropFault.None;
            if (failure == "stopped") await Raindrop.StartAgainAsync();
        }

        var addedKey = Key(userId, added);
        var keptKey = Key(userId, kept);
        await Eventually.UntilAsync(() => ReceivedFor(addedKey).Any(r => r.Verb == "put_object") && ReceivedFor(keptKey).Any(r => r.Verb == "delete_object"), "the outage's changes reached Raindrop");
        var mirrored = Raindrop.Received.Where(r => r.Verb is "put_object" or "delete_object" && ((string?)r.Body["key"])?.StartsWith($"users/{userId}/", StringComparison.Ordinal) == true)
            .Select(r => (r.Verb, (string?)r.Body["key"])).ToList();
        Assert.Equal([("put_object", keptKey), ("put_object", addedKey), ("delete_object", keptKey)], mirrored);
        Assert.Contains(addedKey, Raindrop.Keys);
        Assert.DoesNotContain(keptKey, Raindrop.Keys);
        // Search goes back to Raindrop once the instance answering knows the mirror caught up: at once where the
        // mirror ran, within the ledger's drained-time interval (5 s) on the other worker.
        await Eventually.UntilAsync(async () => (await SearchAsync(user, "when was the generator refuelled")).GetProperty("provider").GetString() == "raindrop", "search served by Raindrop again");
    }

    [Fact]
    public async Task Twenty_uploads_across_two_workers_are_each_ingested_once_and_mirrored_once()
    {
        Assert.Equal(RaindropDevHostFixture.Workers, app.WorkerProcessIds().Count);
        // Two users, ten files each (the free plan's limit).
        var users = new List<(HttpClient User, string UserId, List<string> Ids)>();
        for (var u = 0; u < 2; u++)
        {
            var (user, signIn) = await app.SignInAsync(TestUsers.NewEmail("busy"));
            users.Add((user, signIn.GetProperty("user").GetProperty("id").GetString()!, []));
        }
        for (var i = 1; i <= 20; i++)
        {
            var (user, _, ids) = users[i % 2];
            ids.Add((await FileTests.UploadAsync(user, Encoding.UTF8.GetBytes($"Log {i}: buoy {i} was checked and relit."), $"log-{i}.txt", "text/plain")).GetProperty("id").GetString()!);
        }

        foreach (var (user, userId, ids) in users)
        {
            var chunks = 0;
            foreach (var id in ids)
                chunks += (await FileTests.WaitForAsync(user, id, "indexed")).GetProperty("chunkCount").GetInt32();
            // Passages are granted once per file: no file was ingested twice.
            var usage = (await user.GetFromJsonAsync<JsonElement>("billing/subscription")).GetProperty("usage");
            Assert.Equal(chunks, usage.GetProperty("passagesThisMonth").GetInt64());

            // The mirror, one tick at a time across both workers, sent each file once and skipped none.
            foreach (var id in ids)
                await Eventually.UntilAsync(() => ReceivedFor(Key(userId, id)).Any(r => r.Verb == "put_object"), $"file {id} reached Raindrop");
            foreach (var id in ids)
                Assert.Single(ReceivedFor(Key(userId, id)), r => r.Verb == "put_object");
        }
        // Both workers took queue messages.
        foreach (var worker in new[] { "worker 1", "worker 2" })
            Assert.Contains($"succeeded on {worker}", app.Output);
    }

    [Fact]
    public async Task A_file_still_indexing_in_Raindrop_is_searched_locally_until_Raindrop_reports_it_indexed()
    {
        Raindrop.HoldIndexing = true;
        try
        {
            var (user, _, fileId) = await MirroredFileAsync("Boat notes\n\nThe kayak rental opens at nine on weekdays.", "kayak.txt");
            // Raindrop would answer without the file (it is still processing there): the local search has it.
            for (var i = 0; i < 3; i++)
            {
                var found = await SearchAsync(user, "when does the kayak rental open");
                Assert.Equal("azure", found.GetProperty("provider").GetString());
                Assert.Equal(fileId, found.GetProperty("results")[0].GetProperty("fileId").GetString());
            }
            Assert.Contains(Raindrop.Received, r => r.Verb == "document_status" && ((string?)r.Body["objectId"])!.EndsWith(fileId, StringComparison.Ordinal));
        }
        finally
        {
            Raindrop.HoldIndexing = false;
            Raindrop.FinishIndexing();
        }
    }

    [Fact]
    public async Task A_users_passages_crowded_out_by_other_users_are_searched_locally()
    {
        // Many users' files match the same words; this user's one passage is past the pages read.
        var paragraph = "Market notes\n\nThe fish market sells fresh sardines every morning.";
        for (var i = 0; i < 8; i++) await MirroredFileAsync(string.Join("\n\n", Enumerable.Repeat(paragraph, 6)) + $"\n\nStall {i}", $"market-{i}.txt");
        var (user, _, fileId) = await MirroredFileAsync("Lunch notes\n\nThe cafe sells fresh sardines on Fridays only.", "lunch.txt");
        var pageSize = Raindrop.SearchPageSize;
        Raindrop.SearchPageSize = 4;
        try
        {
            JsonElement found = default;
            await Eventually.UntilAsync(async () => (found = await SearchAsync(user, "fresh sardines market morning")).GetProperty("results").GetArrayLength() > 0, "the search answers");
            Assert.Equal("azure", found.GetProperty("provider").GetString());
            Assert.All(found.GetProperty("results").EnumerateArray(), hit => Assert.Equal(fileId, hit.GetProperty("fileId").GetString()));
            Assert.Contains(Raindrop.Received, r => r.Verb == "search_get_page");
        }
        finally
        {
            Raindrop.SearchPageSize = pageSize;
        }
    }
}
