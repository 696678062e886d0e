using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace SmartApp.Tests.EndToEnd;

/// <summary>Memory on Azure only: search runs locally.</summary>
[Collection(DevHostCollection.Name)]
public sealed class MemoryTestsOnAzure(DevHostFixture app) : MemoryTests(app);

/// <summary>The same suite with memory mirrored to SmartMemory, which serves search while it answers and has the user's writes.</summary>
[Collection(RaindropCollection.Name)]
public sealed class MemoryTestsOnRaindrop(RaindropDevHostFixture app) : MemoryTests(app);

/// <summary>Every route in the OpenAPI document's "Memory" tag, through the dev host, the real worker and the emulators.</summary>
public abstract class MemoryTests(DevHostFixture app)
{
    internal static async Task<string> StartSessionAsync(HttpClient user)
    {
        using var response = await user.PostAsync("memory/sessions", null);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body.ToString());
        return body.GetProperty("sessionId").GetString()!;
    }

    internal static async Task<string> PutAsync(HttpClient user, string sessionId, object memory)
    {
        using var response = await user.PostAsJsonAsync($"memory/sessions/{sessionId}/memories", memory);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body.ToString());
        return body.GetProperty("memoryId").GetString()!;
    }

    private static async Task<JsonElement[]> ListAsync(HttpClient user, string sessionId, string query = "")
    {
        using var response = await user.GetAsync($"memory/sessions/{sessionId}/memories{query}");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        return [.. body.GetProperty("memories").EnumerateArray()];
    }

    private static async Task<JsonElement[]> SearchAsync(HttpClient user, object query)
    {
        using var response = await user.PostAsJsonAsync("memory/search", query);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        return [.. body.GetProperty("results").EnumerateArray()];
    }

    private static async Task<JsonElement> EndAsync(HttpClient user, string sessionId, bool flush)
    {
        using var response = await user.PostAsJsonAsync($"memory/sessions/{sessionId}/end", new { flush });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        return body;
    }

    private static string Content(JsonElement memory) => memory.GetProperty("content").GetString()!;

    [Fact]
    public async Task Working_memory_is_listed_newest_first_filtered_and_deleted_one_by_one()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("memory"));
        var session = await StartSessionAsync(user);
        var first = await PutAsync(user, session, new { content = "Booked a table for two at 8pm", timeline = "plans" });
        await Task.Delay(20);
        var second = await PutAsync(user, session, new { content = "Allergic to peanuts", key = "allergy", agent = "assistant" });
        await Task.Delay(20);
        var third = await PutAsync(user, session, new { content = "Asked about vegan options", timeline = "plans" });

        var all = await ListAsync(user, session);
        Assert.Equal([third, second, first], all.Select(m => m.GetProperty("id").GetString()));
        Assert.All(all, m => Assert.Equal("working", m.GetProperty("kind").GetString()));
        Assert.Equal("default", all[1].GetProperty("timeline").GetString());
        Assert.Equal("allergy", all[1].GetProperty("key").GetString());
        Assert.Equal("assistant", all[1].GetProperty("agent").GetString());

        Assert.Equal([third, first], (await ListAsync(user, session, "?timeline=plans")).Select(m => m.GetProperty("id").GetString()));
        Assert.Equal([second], (await ListAsync(user, session, "?key=allergy")).Select(m => m.GetProperty("id").GetString()));
        Assert.Equal([third], (await ListAsync(user, session, "?last=1")).Select(m => m.GetProperty("id").GetString()));
        var secondAt = all[1].GetProperty("at").GetDateTimeOffset();
        var from = Uri.EscapeDataString(secondAt.ToString("O"));
        var to = Uri.EscapeDataString(all[0].GetProperty("at").GetDateTimeOffset().ToString("O"));
        Assert.Equal([second], (await ListAsync(user, session, $"?from={from}&to={to}")).Select(m => m.GetProperty("id").GetString()));

        using var deleted = await user.DeleteAsync($"memory/sessions/{session}/memories/{second}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal([third, first], (await ListAsync(user, session)).Select(m => m.GetProperty("id").GetString()));
        using var again = await user.DeleteAsync($"memory/sessions/{session}/memories/{second}");
        await ProblemAssert.IsProblemAsync(again, HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task An_exact_repeat_is_stored_once_and_a_repeat_elsewhere_is_its_own_memory()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("memory"));
        var session = await StartSessionAsync(user);
        var id = await PutAsync(user, session, new { content = "Lives in Lisbon", timeline = "facts" });
        Assert.Equal(id, await PutAsync(user, session, new { content = "Lives in Lisbon", timeline = "facts" }));
        var otherTimeline = await PutAsync(user, session, new { content = "Lives in Lisbon", timeline = "chat" });
        var withKey = await PutAsync(user, session, new { content = "Lives in Lisbon", timeline = "facts", key = "city" });
        Assert.Equal(3, new[] { id, otherTimeline, withKey }.Distinct().Count());
        Assert.Equal(3, (await ListAsync(user, session)).Length);

        // A repeat of a deleted memory brings it back.
        using var deleted = await user.DeleteAsync($"memory/sessions/{session}/memories/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(id, await PutAsync(user, session, new { content = "Lives in Lisbon", timeline = "facts" }));
        Assert.Contains(await ListAsync(user, session), m => m.GetProperty("id").GetString() == id);
    }

    [Fact]
    public async Task Search_finds_a_memory_by_meaning_not_only_by_words()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("memory"));
        var session = await StartSessionAsync(user);
        await PutAsync(user, session, new { content = "Prefers green tea in the morning" });
        await PutAsync(user, session, new { content = "Works as a civil engineer in Porto" });
        await PutAsync(user, session, new { content = "Has a dog called Biscuit" });
        await PutAsync(user, session, new { content = "Is learning to play the cello" });

        var results = await SearchAsync(user, new { terms = "what does the user like to drink" });
        Assert.NotEmpty(results);
        Assert.Equal("Prefers green tea in the morning", Content(results[0]));
        Assert.Equal("working", results[0].GetProperty("kind").GetString());
        Assert.Equal(session, results[0].GetProperty("sessionId").GetString());
        Assert.InRange(results[0].GetProperty("score").GetDouble(), 0.5, 1); // relevant: at least the gate's 0.5
        var scores = results.Select(r => r.GetProperty("score").GetDouble()).ToList();
        Assert.Equal(scores.OrderByDescending(s => s), scores);

        // Words still count: an exact term ranks its memory first.
        Assert.Equal("Has a dog called Biscuit", Content((await SearchAsync(user, new { terms = "Biscuit" }))[0]));
        Assert.Single(await SearchAsync(user, new { terms = "pets", limit = 1 }));
        Assert.Empty(await SearchAsync(user, new { terms = "tea", kinds = new[] { "procedural" } }));
    }

    [Fact]
    public async Task Ending_with_flush_writes_a_model_summary_that_episodic_search_finds()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("memory"));
        var session = await StartSessionAsync(user);
        await PutAsync(user, session, new { content = "Planning a trip to Kyoto in April", agent = "travel" });
        await PutAsync(user, session, new { content = "Wants a ryokan with an onsen", agent = "travel" });

        var ended = await EndAsync(user, session, flush: true);
        Assert.Equal("model", ended.GetProperty("summarizedBy").GetString());
        var summary = ended.GetProperty("summary").GetString()!;
        Assert.StartsWith(FakeVultr.ReplyPrefix, summary);
        Assert.Contains("onsen", summary); // the model was given the session's memories
        var episodicId = ended.GetProperty("episodicMemoryId").GetString()!;

        var found = await SearchAsync(user, new { terms = "Japan holiday", kinds = new[] { "episodic" } });
        var episode = Assert.Single(found);
        Assert.Equal(episodicId, episode.GetProperty("id").GetString());
        Assert.Equal("episodic", episode.GetProperty("kind").GetString());
        Assert.Equal(session, episode.GetProperty("sessionId").GetString());
        Assert.Equal(2, episode.GetProperty("entryCount").GetInt32());
        Assert.Equal("travel", episode.GetProperty("agent").GetString());

        // Ending again answers what the first end did; the ended session takes no more memories.
        var repeated = await EndAsync(user, session, flush: true);
        Assert.Equal(episodicId, repeated.GetProperty("episodicMemoryId").GetString());
        Assert.Equal(ended.GetProperty("endedAt").GetDateTimeOffset(), repeated.GetProperty("endedAt").GetDateTimeOffset());
        using var late = await user.PostAsJsonAsync($"memory/sessions/{session}/memories", new { content = "one more thing" });
        await ProblemAssert.IsProblemAsync(late, HttpStatusCode.Conflict, "conflict");
        Assert.Single(await SearchAsync(user, new { terms = "Kyoto", kinds = new[] { "episodic" } }));
    }

    [Fact]
    public async Task Ending_with_flush_while_the_model_is_down_writes_an_extractive_summary()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("memory"));
        var session = await StartSessionAsync(user);
        string[] said = ["Training for a marathon in October", "Runs five times a week", "Wants to improve their pace", "Bought new running shoes"];
        foreach (var content in said) await PutAsync(user, session, new { content });

        app.Model.Down = true;
        JsonElement ended;
        var asked = app.Model.Completions;
        try
        {
            ended = await EndAsync(user, session, flush: true);
        }
        finally
        {
            app.Model.Down = false;
        }
        Assert.True(app.Model.Completions > asked, "the model was asked first");
        Assert.Equal("extractive", ended.GetProperty("summarizedBy").GetString());
        var lines = ended.GetProperty("summary").GetString()!.Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.All(lines, line => Assert.Contains(line, said));

        var episode = Assert.Single(await SearchAsync(user, new { terms = "running", kinds = new[] { "episodic" } }));
        Assert.Equal("extractive", episode.GetProperty("summarizedBy").GetString());
    }

    [Fact]
    public async Task Ending_without_flush_writes_no_episodic_memory()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("memory"));
        var session = await StartSessionAsync(user);
        await PutAsync(user, session, new { content = "Likes jazz" });
        var ended = await EndAsync(user, session, flush: false);
        Assert.False(ended.TryGetProperty("episodicMemoryId", out _));
        Assert.True(ended.TryGetProperty("endedAt", out _));
        Assert.Empty(await SearchAsync(user, new { terms = "jazz", kinds = new[] { "episodic" } }));
        Assert.Single(await SearchAsync(user, new { terms = "jazz", kinds = new[] { "working" } }));
    }

    [Fact]
    public async Task Semantic_documents_are_stored_read_searched_and_deleted()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("memory"));
        var document = new { title = "Return policy", body = "Items may be returned within 30 days with a receipt.", tags = new[] { "shop", "refunds" } };
        using var created = await user.PostAsJsonAsync("memory/documents", new { document });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("documentId").GetString()!;

        var read = await user.GetFromJsonAsync<JsonElement>($"memory/documents/{id}");
        Assert.Equal(id, read.GetProperty("documentId").GetString());
        Assert.Equal(JsonSerializer.Serialize(document, JsonSerializerOptions.Web), read.GetProperty("document").GetRawText());

        var hit = (await SearchAsync(user, new { terms = "can I get my money back", kinds = new[] { "semantic" } }))[0];
        Assert.Equal("semantic", hit.GetProperty("kind").GetString());
        Assert.Equal(id, hit.GetProperty("documentId").GetString());

        using var deleted = await user.DeleteAsync($"memory/documents/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var gone = await user.GetAsync($"memory/documents/{id}");
        await ProblemAssert.IsProblemAsync(gone, HttpStatusCode.NotFound, "not-found");
        Assert.Empty(await SearchAsync(user, new { terms = "return policy receipt", kinds = new[] { "semantic" } }));
    }

    [Fact]
    public async Task Procedures_are_kept_by_key_listed_replaced_and_deleted()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("memory"));
        using (var put = await user.PutAsJsonAsync("memory/procedures/greeting", new { value = "Greet the user by first name." }))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        using (var put = await user.PutAsJsonAsync("memory/procedures/tone of voice", new { value = "Warm and brief." }))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var first = await user.GetFromJsonAsync<JsonElement>("memory/procedures/greeting");
        await Task.Delay(20);
        using (var replace = await user.PutAsJsonAsync("memory/procedures/greeting", new { value = "Greet the user by name, in their language." }))
            Assert.Equal(HttpStatusCode.OK, replace.StatusCode);

        var greeting = await user.GetFromJsonAsync<JsonElement>("memory/procedures/greeting");
        Assert.Equal("Greet the user by name, in their language.", greeting.GetProperty("value").GetString());
        Assert.Equal(first.GetProperty("createdAt").GetDateTimeOffset(), greeting.GetProperty("createdAt").GetDateTimeOffset());
        Assert.True(greeting.GetProperty("updatedAt").GetDateTimeOffset() > first.GetProperty("updatedAt").GetDateTimeOffset());

        var list = (await user.GetFromJsonAsync<JsonElement>("memory/procedures")).GetProperty("procedures").EnumerateArray().ToList();
        Assert.Equal(["greeting", "tone of voice"], list.Select(p => p.GetProperty("key").GetString()));
        Assert.Equal("procedural", (await SearchAsync(user, new { terms = "how should I greet", kinds = new[] { "procedural" } }))[0].GetProperty("kind").GetString());

        using (var deleted = await user.DeleteAsync("memory/procedures/greeting"))
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using (var gone = await user.GetAsync("memory/procedures/greeting"))
            await ProblemAssert.IsProblemAsync(gone, HttpStatusCode.NotFound, "not-found");
        Assert.Single((await user.GetFromJsonAsync<JsonElement>("memory/procedures")).GetProperty("procedures").EnumerateArray());
    }

    [Fact]
    public async Task Bad_input_is_a_400_naming_the_field_and_stores_nothing()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("memory"));
        var session = await StartSessionAsync(user);

        async Task ExpectField(HttpResponseMessage response, string field)
        {
            using (response)
            {
                var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "validation");
                Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"errors should name '{field}': {problem}");
            }
        }

        await ExpectField(await user.PostAsJsonAsync($"memory/sessions/{session}/memories", new { content = "  " }), "content");
        await ExpectField(await user.PostAsJsonAsync($"memory/sessions/{session}/memories", new { timeline = "x" }), "content");
        await ExpectField(await user.PostAsJsonAsync($"memory/sessions/{session}/memories", new { content = new string('a', 32 * 1024 + 1) }), "content");
        await ExpectField(await user.PostAsJsonAsync($"memory/sessions/{session}/memories", new { content = "ok", key = new string('k', 300) }), "key");
        await ExpectField(await user.PostAsJsonAsync("memory/search", new { terms = "tea", kinds = new[] { "working", "dreams" } }), "kinds");
        await ExpectField(await user.PostAsJsonAsync("memory/search", new { terms = "" }), "terms");
        await ExpectField(await user.PostAsJsonAsync("memory/search", new { terms = "tea", from = "last tuesday" }), "from");
        await ExpectField(await user.PostAsJsonAsync("memory/search", new { terms = "tea", limit = 0 }), "limit");
        await ExpectField(await user.GetAsync($"memory/sessions/{session}/memories?from=not-a-date"), "from");
        await ExpectField(await user.GetAsync($"memory/sessions/{session}/memories?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z"), "from");
        await ExpectField(await user.GetAsync($"memory/sessions/{session}/memories?last=0"), "last");
        await ExpectField(await user.GetAsync($"memory/sessions/{session}/memories?last=many"), "last");
        await ExpectField(await user.PostAsJsonAsync("memory/documents", new { document = (object?)null }), "document");
        await ExpectField(await user.PutAsJsonAsync("memory/procedures/empty", new { value = "" }), "value");
        Assert.Empty(await ListAsync(user, session));
        Assert.Empty((await user.GetFromJsonAsync<JsonElement>("memory/procedures")).GetProperty("procedures").EnumerateArray());

        foreach (var missing in new[] { "ses_00000000000000000000000000000000", "not-an-id" })
        {
            using var response = await user.PostAsJsonAsync($"memory/sessions/{missing}/memories", new { content = "hello" });
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound, "not-found");
        }
        using var search = await user.PostAsJsonAsync("memory/search", new { terms = "hello", sessionId = "ses_00000000000000000000000000000000" });
        await ProblemAssert.IsProblemAsync(search, HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task Another_user_sees_none_of_a_users_memory_through_any_route()
    {
        var (alice, _) = await app.SignInAsync(TestUsers.NewEmail("alice"));
        var (bob, _) = await app.SignInAsync(TestUsers.NewEmail("bob"));
        var session = await StartSessionAsync(alice);
        var memoryId = await PutAsync(alice, session, new { content = "Alice's secret: the safe code is 4711" });
        using var doc = await alice.PostAsJsonAsync("memory/documents", new { document = new { secret = "Alice's diary entry about 4711" } });
        var documentId = (await doc.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("documentId").GetString()!;
        using (await alice.PutAsJsonAsync("memory/procedures/alice-only", new { value = "Alice's private procedure 4711" })) { }

        foreach (var request in new Func<Task<HttpResponseMessage>>[]
        {
            () => bob.GetAsync($"memory/sessions/{session}/memories"),
            () => bob.PostAsJsonAsync($"memory/sessions/{session}/memories", new { content = "Bob was here" }),
            () => bob.DeleteAsync($"memory/sessions/{session}/memories/{memoryId}"),
            () => bob.PostAsJsonAsync($"memory/sessions/{session}/end", new { flush = true }),
            () => bob.PostAsJsonAsync("memory/search", new { terms = "safe code", sessionId = session }),
            () => bob.GetAsync($"memory/documents/{documentId}"),
            () => bob.DeleteAsync($"memory/documents/{documentId}"),
            () => bob.GetAsync("memory/procedures/alice-only"),
            () => bob.DeleteAsync("memory/procedures/alice-only"),
        })
        {
            using var response = await request();
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound, "not-found");
        }
        Assert.Empty(await SearchAsync(bob, new { terms = "Alice safe code diary procedure 4711" }));
        Assert.Empty((await bob.GetFromJsonAsync<JsonElement>("memory/procedures")).GetProperty("procedures").EnumerateArray());

        // Alice's memory is untouched by Bob's attempts.
        Assert.Single(await ListAsync(alice, session));
        Assert.Equal(3, (await SearchAsync(alice, new { terms = "4711" })).Length);
        using var stillThere = await alice.GetAsync($"memory/documents/{documentId}");
        Assert.Equal(HttpStatusCode.OK, stillThere.StatusCode);
    }

    [Fact]
    public async Task Memory_is_in_the_export_and_gone_after_the_account_is_deleted()
    {
        var email = TestUsers.NewEmail("leaving");
        var (user, _) = await app.SignInAsync(email);
        var session = await StartSessionAsync(user);
        await PutAsync(user, session, new { content = "Remember my anniversary is on June 3rd" });
        Assert.Single(await SearchAsync(user, new { terms = "anniversary" })); // the search index now holds it

        var export = await user.GetStringAsync("me/export");
        Assert.Contains("Remember my anniversary is on June 3rd", export);

        using var accepted = await user.DeleteAsync("me");
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var status = await app.WaitForDeletionAsync(accepted.Headers.Location!.ToString());
        Assert.Equal("completed", status.GetProperty("status").GetString());
        Assert.True(status.GetProperty("deleted").GetProperty("memories").GetInt32() >= 2); // the session and its memory

        // Signing up again with the same email starts from nothing, even where a search index was warm.
        var (again, _) = await app.SignInAsync(email);
        Assert.Empty(await SearchAsync(again, new { terms = "anniversary" }));
        using var oldSession = await again.GetAsync($"memory/sessions/{session}/memories");
        await ProblemAssert.IsProblemAsync(oldSession, HttpStatusCode.NotFound, "not-found");
    }
}
