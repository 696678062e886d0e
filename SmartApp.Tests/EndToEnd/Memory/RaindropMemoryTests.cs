using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SmartApp.Tests.EndToEnd;

/// <summary>
/// Memory mirrored to SmartMemory from the Cosmos change feed, against a fake Raindrop on loopback:
/// what reaches it and in what shape, which searches it answers, and what users see when it fails.
/// </summary>
[Collection(RaindropCollection.Name)]
public sealed class RaindropMemoryTests(RaindropDevHostFixture app)
{
    private FakeRaindrop Raindrop => app.Raindrop;


    private static async Task<JsonElement> SearchAsync(HttpClient user, object query)
    {
        using var response = await user.PostAsJsonAsync("memory/search", query);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        return body;
    }

    /// <summary>Searches until Raindrop answers it (the mirror has drained past the user's last write).</summary>
    private static async Task<JsonElement> SearchOnRaindropAsync(HttpClient user, object query)
    {
        JsonElement body = default;
        await Eventually.UntilAsync(async () => (body = await SearchAsync(user, query)).GetProperty("provider").GetString() == "raindrop", $"Raindrop answers {JsonSerializer.Serialize(query)}");
        return body;
    }

    private IEnumerable<(string Verb, JsonObject Body)> Received(string verb) => Raindrop.Received.Where(r => r.Verb == verb);

    [Fact]
    public async Task Every_kind_of_memory_reaches_SmartMemory_with_the_right_body_and_is_searched_there_for_its_owner_only()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("smartmemory"));
        var session = await MemoryTests.StartSessionAsync(user);
        var memoryId = await MemoryTests.PutAsync(user, session, new { content = "The customer prefers oat milk in the flat white", timeline = "orders", key = "milk", agent = "barista" });
        using (var doc = await user.PostAsJsonAsync("memory/documents", new { document = new { topic = "returns", rule = "Refunds within thirty days with a receipt" } }))
            Assert.Equal(HttpStatusCode.Created, doc.StatusCode);
        using (var stored = await user.PutAsJsonAsync("memory/procedures/greeting", new { value = "Greet the customer warmly by name" }))
            Assert.True(stored.IsSuccessStatusCode);

        var found = await SearchOnRaindropAsync(user, new { terms = "oat milk", sessionId = session, kinds = new[] { "working" } });
        Assert.Equal(memoryId, found.GetProperty("results")[0].GetProperty("id").GetString());
        Assert.Equal("raindrop", found.GetProperty("results")[0].GetProperty("provider").GetString());

        var put = Assert.Single(Received("put_memory"), r => (string?)r.Body["content"] == "The customer prefers oat milk in the flat white").Body;
        Assert.Equal("orders", (string?)put["timeline"]);
        Assert.Equal("milk", (string?)put["key"]);
        Assert.Equal("barista", (string?)put["agent"]);
        Assert.Equal("smartapp-memory", (string?)put["smartMemoryLocation"]!["smartMemory"]!["name"]);
        Assert.Equal("smartapp-e2e", (string?)put["smartMemoryLocation"]!["smartMemory"]!["applicationName"]);
        Assert.Contains((string)put["sessionId"]!, Raindrop.Sessions.Keys); // a session started for it

        var semantic = Assert.Single(Received("put_semantic_memory"), r => ((string?)r.Body["document"])!.Contains("thirty days", StringComparison.Ordinal)).Body;
        Assert.Equal("returns", JsonNode.Parse((string)semantic["document"]!)!["topic"]!.GetValue<string>()); // the document as a JSON string
        var procedure = Assert.Single(Received("put_procedure"), r => (string?)r.Body["key"] == "greeting").Body;
        Assert.Equal("Greet the customer warmly by name", (string?)procedure["value"]);
        Assert.StartsWith("user-", (string?)procedure["proceduralMemoryId"]);

        var documents = await SearchOnRaindropAsync(user, new { terms = "refunds receipt", kinds = new[] { "semantic", "procedural" } });
        Assert.Equal("semantic", documents.GetProperty("results")[0].GetProperty("kind").GetString());
        Assert.Contains("thirty days", documents.GetProperty("results")[0].GetProperty("document").GetProperty("rule").GetString());
        var greeting = await SearchOnRaindropAsync(user, new { terms = "greet warmly", kinds = new[] { "procedural" } });
        Assert.Equal("greeting", greeting.GetProperty("results")[0].GetProperty("key").GetString());

        // Another user's search reaches the same SmartMemory and finds none of it.
        var (other, _) = await app.SignInAsync(TestUsers.NewEmail("other"));
        var theirs = await SearchAsync(other, new { terms = "refunds receipt greet warmly oat milk" });
        Assert.Empty(theirs.GetProperty("results").EnumerateArray());
    }

    [Fact]
    public async Task Ending_a_session_with_flush_ends_it_in_SmartMemory_and_episodic_search_finds_our_summary()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("episodic"));
        var session = await MemoryTests.StartSessionAsync(user);
        await MemoryTests.PutAsync(user, session, new { content = "We planned the harbour festival lanterns" });
        using (var ended = await user.PostAsJsonAsync($"memory/sessions/{session}/end", new { flush = true }))
            Assert.True(ended.IsSuccessStatusCode, await ended.Content.ReadAsStringAsync());

        var episodic = await SearchOnRaindropAsync(user, new { terms = "harbour festival lanterns", kinds = new[] { "episodic" } });
        var summary = episodic.GetProperty("results")[0];
        Assert.Equal("episodic", summary.GetProperty("kind").GetString());
        Assert.Equal(session, summary.GetProperty("sessionId").GetString());
        var end = Assert.Single(Received("end_session"), r => Raindrop.Sessions.TryGetValue((string)r.Body["sessionId"]!, out var m) && m.Any(x => x.Content.Contains("lanterns", StringComparison.Ordinal))).Body;
        Assert.True((bool)end["flush"]!);
    }

    [Fact]
    public async Task Writes_and_deletes_made_while_SmartMemory_is_down_reach_it_in_order_once_each_and_search_answers_meanwhile()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("outage"));
        var session = await MemoryTests.StartSessionAsync(user);
        var kept = await MemoryTests.PutAsync(user, session, new { content = "The spare key is under the blue flowerpot" });
        var doomed = await MemoryTests.PutAsync(user, session, new { content = "The alarm code is four one two three" });
        await SearchOnRaindropAsync(user, new { terms = "spare key", sessionId = session, kinds = new[] { "working" } });

        await Raindrop.StopAsync();
        try
        {
            var added = await MemoryTests.PutAsync(user, session, new { content = "The bicycle lock combination is nine nine one" });
            using (var delete = await user.DeleteAsync($"memory/sessions/{session}/memories/{doomed}"))
                Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);

            // Search still answers, from Azure, with the write and without the delete.
            var meanwhile = await SearchAsync(user, new { terms = "bicycle lock combination alarm code", sessionId = session, kinds = new[] { "working" } });
            Assert.Equal("azure", meanwhile.GetProperty("provider").GetString());
            var ids = meanwhile.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToList();
            Assert.Contains(added, ids);
            Assert.DoesNotContain(doomed, ids);
            var (admin, _) = await app.SignInAsync(TestUsers.AdminEmail);
            await Eventually.UntilAsync(async () =>
            {
                var raindrop = (await admin.GetFromJsonAsync<JsonElement>("health/details")).GetProperty("dependencies").GetProperty("raindrop");
                return raindrop.GetProperty("status").GetString() == "degraded" && raindrop.GetProperty("backlog").GetInt32() > 0;
            }, "health details show the backlog");
        }
        finally
        {
            await Raindrop.StartAgainAsync();
        }

        var after = await SearchOnRaindropAsync(user, new { terms = "bicycle lock combination", sessionId = session, kinds = new[] { "working" } });
        Assert.Contains("bicycle", after.GetProperty("results")[0].GetProperty("content").GetString());
        var raindropSession = Raindrop.Sessions.Single(s => s.Value.Any(m => m.Content.Contains("spare key", StringComparison.Ordinal)));
        Assert.Equal(["The spare key is under the blue flowerpot", "The bicycle lock combination is nine nine one"], raindropSession.Value.Select(m => m.Content));
        var forSession = Raindrop.Received.Where(r => (string?)r.Body["sessionId"] == raindropSession.Key).Select(r => r.Verb + ":" + ((string?)r.Body["content"] ?? (string?)r.Body["memoryId"])).ToList();
        var doomedInRaindrop = Received("delete_memory").Single(r => (string?)r.Body["sessionId"] == raindropSession.Key).Body["memoryId"]!.GetValue<string>();
        Assert.Equal(
        [
            "put_memory:The spare key is under the blue flowerpot",
            "put_memory:The alarm code is four one two three",
            "put_memory:The bicycle lock combination is nine nine one",
            "delete_memory:" + doomedInRaindrop,
        ], forSession.Where(v => !v.StartsWith("search_memory", StringComparison.Ordinal)));
        Assert.Contains(kept, after.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetString()).Concat([kept]));
    }
}
