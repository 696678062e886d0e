using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace SmartApp.Tests.EndToEnd;

/// <summary>
/// Memory that learns from chat turns (the queue-triggered learning function, with the fake model's structured outputs), keeps
/// facts current with their history, forgets on request, and lets the user see, expire and switch off what it learned.
/// </summary>
[Collection(DevHostCollection.Name)]
public sealed class LearningTests(DevHostFixture app)
{
    internal static async Task<JsonElement[]> FactsAsync(HttpClient user, string query = "kind=semantic")
    {
        using var response = await user.GetAsync($"memory?{query}");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        return [.. body.GetProperty("memories").EnumerateArray().Where(m => m.TryGetProperty("origin", out _))];
    }

    private static async Task<(string MessageId, string Reply, List<(string Event, JsonElement Data)> Events)> SayAsync(HttpClient user, string conversation, string content)
    {
        var events = await ChatTests.StreamAsync(user, conversation, new { content });
        Assert.True(events[^1].Event == "done", string.Join(" ", events.Select(e => $"{e.Event}:{e.Data}")));
        return (events[0].Data.GetProperty("messageId").GetString()!, string.Concat(events.Where(e => e.Event == "delta").Select(e => e.Data.GetProperty("text").GetString())), events);
    }

    private static async Task<JsonElement[]> WaitForFactAsync(HttpClient user, string content)
    {
        JsonElement[] facts = [];
        await Eventually.UntilAsync(async () => (facts = await FactsAsync(user)).Any(f => f.GetProperty("content").GetString() == content), $"the fact \"{content}\" is learned");
        return facts;
    }

    private async Task<(HttpClient User, string Conversation)> UserInConversationAsync(string who)
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail(who));
        return (user, await ChatTests.StartAsync(user));
    }

    [Fact]
    public async Task A_move_updates_the_one_current_fact_keeps_the_old_one_in_its_history_and_chat_answers_from_it()
    {
        // Bob lives in Lisbon too: Alice's learning never compares with or touches his memories.
        var (bob, bobChat) = await UserInConversationAsync("learning-bob");
        await SayAsync(bob, bobChat, "Hello! I live in Lisbon.");
        var bobFact = (await WaitForFactAsync(bob, "Lives in Lisbon")).Single();

        var (alice, chat) = await UserInConversationAsync("learning-alice");
        await SayAsync(alice, chat, "Hi there. I live in Lisbon.");
        var lisbon = (await WaitForFactAsync(alice, "Lives in Lisbon")).Single();
        Assert.Equal("learned", lisbon.GetProperty("origin").GetString());
        Assert.Equal("home city", lisbon.GetProperty("topic").GetString());
        Assert.Equal(chat, lisbon.GetProperty("source").GetProperty("conversationId").GetString());

        var (movedMessage, _, _) = await SayAsync(alice, chat, "Big news: last month I moved to Porto.");
        var facts = await WaitForFactAsync(alice, "Lives in Porto");
        var porto = Assert.Single(facts); // one current fact, not two
        Assert.Equal(lisbon.GetProperty("id").GetString(), porto.GetProperty("id").GetString());
        Assert.Equal(movedMessage, porto.GetProperty("source").GetProperty("messageId").GetString());

        var history = await alice.GetFromJsonAsync<JsonElement>($"memory/{porto.GetProperty("id").GetString()}/history");
        Assert.Equal("Lives in Porto", history.GetProperty("memory").GetProperty("content").GetString());
        var version = Assert.Single(history.GetProperty("versions").EnumerateArray());
        Assert.Equal("Lives in Lisbon", version.GetProperty("content").GetString());
        Assert.Equal(lisbon.GetProperty("source").GetProperty("messageId").GetString(), version.GetProperty("source").GetProperty("messageId").GetString());

        // The account's export holds the fact with its history.
        var export = await alice.GetFromJsonAsync<JsonElement>("me/export");
        var exported = export.GetProperty("stores").GetProperty("memories").EnumerateArray().Single(m => m.GetProperty("id").GetString() == porto.GetProperty("id").GetString());
        Assert.Equal("Lives in Lisbon", exported.GetProperty("history")[0].GetProperty("content").GetString());

        // The answer comes from the current fact: Porto is in the context, Lisbon (said before, now outdated) is not.
        app.Model.AnswersFromSources = true;
        string answer;
        List<(string Event, JsonElement Data)> events;
        try
        {
            (_, answer, events) = await SayAsync(alice, chat, "Where do I live?");
        }
        finally
        {
            app.Model.AnswersFromSources = false;
        }
        var context = events[0].Data.GetProperty("citations").EnumerateArray().Select(c => c.GetProperty("text").GetString()!).ToList();
        Assert.Contains("Lives in Porto", context);
        Assert.DoesNotContain(context, c => c.Contains("Lisbon", StringComparison.Ordinal));
        Assert.Contains("Porto", answer);
        Assert.DoesNotContain("Lisbon", answer);

        // Bob's fact is as it was; Alice's fact's id is not found for him.
        var bobNow = Assert.Single(await FactsAsync(bob));
        Assert.Equal("Lives in Lisbon", bobNow.GetProperty("content").GetString());
        Assert.Empty((await bob.GetFromJsonAsync<JsonElement>($"memory/{bobFact.GetProperty("id").GetString()}/history")).GetProperty("versions").EnumerateArray());
        using var foreign = await bob.GetAsync($"memory/{porto.GetProperty("id").GetString()}/history");
        await ProblemAssert.IsProblemAsync(foreign, HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task Forget_in_chat_removes_the_fact_without_the_model_and_a_later_mention_does_not_bring_it_back()
    {
        var (user, chat) = await UserInConversationAsync("learning-forget");
        await SayAsync(user, chat, "I live in Porto.");
        await WaitForFactAsync(user, "Lives in Porto");

        var asked = app.Model.Completions;
        var (_, reply, events) = await SayAsync(user, chat, "Please forget where I live.");
        Assert.Equal(asked, app.Model.Completions); // a rule, not the model
        Assert.StartsWith("Forgotten: Lives in Porto.", reply);
        Assert.Equal(0, events[^1].Data.GetProperty("usage").GetProperty("promptTokens").GetInt32());
        Assert.Empty(await FactsAsync(user));

        // Porto again, in passing and even restated, next to something new: the new fact is learned, Porto is not.
        await SayAsync(user, chat, "The trains back home in Porto were late, and I live in Porto anyway. I really like green tea.");
        var facts = await WaitForFactAsync(user, "Likes green tea");
        Assert.DoesNotContain(facts, f => f.GetProperty("content").GetString()!.Contains("Porto", StringComparison.Ordinal));
        using (var search = await user.PostAsJsonAsync("memory/search", new { terms = "where does the user live", kinds = new[] { "semantic" } }))
            Assert.DoesNotContain((await search.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results").EnumerateArray(), r => r.GetProperty("content").GetString() == "Lives in Porto");

        // Stating it explicitly lifts the forgetting.
        using var stated = await user.PostAsJsonAsync("memory/facts", new { content = "Lives in Porto", topic = "home city" });
        Assert.Equal(HttpStatusCode.Created, stated.StatusCode);
        Assert.Equal("stated", (await stated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("origin").GetString());
    }

    [Fact]
    public async Task Remember_and_forget_work_in_chat_while_the_model_is_down_and_through_the_API()
    {
        var (user, chat) = await UserInConversationAsync("learning-commands");
        app.Model.Down = true;
        try
        {
            var (_, reply, _) = await SayAsync(user, chat, "Remember that my passport number ends in 4471.");
            Assert.Equal("Noted. I will remember: My passport number ends in 4471", reply);
        }
        finally
        {
            app.Model.Down = false;
        }
        var fact = Assert.Single(await FactsAsync(user));
        Assert.Equal("stated", fact.GetProperty("origin").GetString());
        Assert.Equal(chat, fact.GetProperty("source").GetProperty("conversationId").GetString());

        using var forget = await user.PostAsJsonAsync("memory/forget", new { about = "my passport number" });
        var forgotten = (await forget.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("forgotten").EnumerateArray().ToList();
        Assert.Equal(fact.GetProperty("id").GetString(), Assert.Single(forgotten).GetProperty("id").GetString());
        Assert.Empty(await FactsAsync(user));

        using var nothing = await user.PostAsJsonAsync("memory/forget", new { about = "my favourite colour" });
        Assert.Empty((await nothing.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("forgotten").EnumerateArray());
        using var empty = await user.PostAsJsonAsync("memory/forget", new { about = " " });
        await ProblemAssert.IsProblemAsync(empty, HttpStatusCode.BadRequest, "validation");
    }

    [Fact]
    public async Task With_learning_off_nothing_is_learned()
    {
        var (user, chat) = await UserInConversationAsync("learning-off");
        Assert.True((await user.GetFromJsonAsync<JsonElement>("memory/settings")).GetProperty("learning").GetBoolean());
        using (var off = await user.PutAsJsonAsync("memory/settings", new { learning = false }))
            Assert.False((await off.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("learning").GetBoolean());
        await SayAsync(user, chat, "I live in Oslo.");

        using (var on = await user.PutAsJsonAsync("memory/settings", new { learning = true }))
            Assert.Equal(HttpStatusCode.OK, on.StatusCode);
        await SayAsync(user, chat, "I work at Fabrikam.");
        var facts = await WaitForFactAsync(user, "Works at Fabrikam");
        Assert.DoesNotContain(facts, f => f.GetProperty("content").GetString()!.Contains("Oslo", StringComparison.Ordinal));

        using var invalid = await user.PutAsJsonAsync("memory/settings", new { });
        await ProblemAssert.IsProblemAsync(invalid, HttpStatusCode.BadRequest, "validation");
    }

    [Fact]
    public async Task When_extraction_fails_the_turn_is_unaffected_and_learning_is_retried_once_to_one_fact()
    {
        var (user, chat) = await UserInConversationAsync("learning-retry");
        var marker = "Contoso" + string.Concat(Guid.NewGuid().ToString("N")[..8].Select(c => (char)('a' + c % 26)));
        app.Model.FailLearning(marker, 2);
        var (_, reply, _) = await SayAsync(user, chat, $"I work at {marker}.");
        Assert.StartsWith(Fakes.FakeVultr.ReplyPrefix, reply); // the turn itself was answered by the model

        await WaitForFactAsync(user, $"Works at {marker}");
        Assert.Equal(0, app.Model.LearningFailuresLeft(marker)); // it failed twice and was delivered again
        await Task.Delay(TimeSpan.FromSeconds(6)); // past another visibility timeout: nothing is learned twice
        Assert.Single(await FactsAsync(user), f => f.GetProperty("content").GetString() == $"Works at {marker}");
        Assert.Single(await FactsAsync(user));
    }

    [Fact]
    public async Task An_expired_memory_is_not_read_listed_or_found()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("learning-expiry"));
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(3);
        using var created = await user.PostAsJsonAsync("memory/facts", new { content = "Is at the Lisbon conference this week", expiresAt, metadata = new { source = "calendar" } });
        var fact = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(created.StatusCode == HttpStatusCode.Created, fact.ToString());
        var id = fact.GetProperty("id").GetString()!;
        Assert.Single(await FactsAsync(user, "metadata=source:calendar"));
        using (var search = await user.PostAsJsonAsync("memory/search", new { terms = "conference" }))
            Assert.Contains((await search.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results").EnumerateArray(), r => r.GetProperty("id").GetString() == id);

        await Task.Delay(expiresAt - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1));
        Assert.Empty(await FactsAsync(user));
        using (var search = await user.PostAsJsonAsync("memory/search", new { terms = "conference" }))
            Assert.Empty((await search.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results").EnumerateArray());
        using var history = await user.GetAsync($"memory/{id}/history");
        await ProblemAssert.IsProblemAsync(history, HttpStatusCode.NotFound, "not-found");

        using var past = await user.PostAsJsonAsync("memory/facts", new { content = "Was here", expiresAt = DateTimeOffset.UtcNow.AddMinutes(-1) });
        await ProblemAssert.IsProblemAsync(past, HttpStatusCode.BadRequest, "validation");
        var session = await MemoryTests.StartSessionAsync(user);
        using var badMetadata = await user.PostAsJsonAsync($"memory/sessions/{session}/memories", new { content = "x", metadata = new Dictionary<string, string> { ["bad name!"] = "v" } });
        await ProblemAssert.IsProblemAsync(badMetadata, HttpStatusCode.BadRequest, "validation");
    }

    [Fact]
    public async Task Memories_are_listed_with_filters_and_pages_deleted_by_filter_summarised_and_rehydrated()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("learning-lifecycle"));
        var (other, _) = await app.SignInAsync(TestUsers.NewEmail("learning-lifecycle-other"));
        var session = await MemoryTests.StartSessionAsync(user);
        var ids = new List<string>();
        foreach (var (content, project) in new[] { ("Kickoff on Monday", "apollo"), ("Budget approved", "apollo"), ("Design review Friday", "gemini") })
            ids.Add(await MemoryTests.PutAsync(user, session, new { content, timeline = "work", metadata = new { project } }));
        await MemoryTests.PutAsync(user, session, new { content = "Buy milk", timeline = "errands" });

        var firstPage = await user.GetFromJsonAsync<JsonElement>("memory?kind=working&timeline=work&limit=2");
        var cursor = firstPage.GetProperty("cursor").GetString();
        var secondPage = await user.GetFromJsonAsync<JsonElement>($"memory?kind=working&timeline=work&limit=2&cursor={Uri.EscapeDataString(cursor!)}");
        var listed = firstPage.GetProperty("memories").EnumerateArray().Concat(secondPage.GetProperty("memories").EnumerateArray()).Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Equal(ids.AsEnumerable().Reverse(), listed); // newest first, every one once
        Assert.Equal(2, (await user.GetFromJsonAsync<JsonElement>("memory?metadata=project:apollo")).GetProperty("memories").GetArrayLength());
        Assert.Empty((await other.GetFromJsonAsync<JsonElement>("memory")).GetProperty("memories").EnumerateArray());

        // Summaries with the app's own instructions, of chosen memories and of an ended session.
        using (var summary = await user.PostAsJsonAsync("memory/summarize", new { memoryIds = ids.Take(2), instructions = "One line, as a headline." }))
        {
            var body = await summary.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(summary.StatusCode == HttpStatusCode.OK, body.ToString());
            Assert.Equal("model", body.GetProperty("summarizedBy").GetString());
            var sent = app.Model.Requests.Last()["messages"]!.AsArray();
            Assert.EndsWith("One line, as a headline.", sent[0]!["content"]!.GetValue<string>());
            Assert.Contains("Budget approved", sent[1]!["content"]!.GetValue<string>());
        }
        using (var foreign = await other.PostAsJsonAsync("memory/summarize", new { memoryIds = ids.Take(1) }))
            await ProblemAssert.IsProblemAsync(foreign, HttpStatusCode.NotFound, "not-found");
        using (var ended = await user.PostAsJsonAsync($"memory/sessions/{session}/end", new { flush = true, instructions = "List the dates only." }))
        {
            Assert.Equal(HttpStatusCode.OK, ended.StatusCode);
            Assert.EndsWith("List the dates only.", app.Model.Requests.Last()["messages"]!.AsArray()[0]!["content"]!.GetValue<string>());
        }

        // Rehydration: the past session's memories, or its summary, in a new working session.
        using (var whole = await user.PostAsJsonAsync($"memory/sessions/{session}/rehydrate", new { }))
        {
            var body = await whole.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(whole.StatusCode == HttpStatusCode.Created, body.ToString());
            Assert.Equal(4, body.GetProperty("copied").GetInt32());
            var copies = (await user.GetFromJsonAsync<JsonElement>($"memory/sessions/{body.GetProperty("sessionId").GetString()}/memories")).GetProperty("memories").EnumerateArray();
            Assert.Contains(copies, m => m.GetProperty("content").GetString() == "Budget approved" && m.GetProperty("timeline").GetString() == "work");
        }
        using (var summaryOnly = await user.PostAsJsonAsync($"memory/sessions/{session}/rehydrate", new { summaryOnly = true }))
            Assert.Equal(1, (await summaryOnly.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("copied").GetInt32());
        using (var foreign = await other.PostAsJsonAsync($"memory/sessions/{session}/rehydrate", new { }))
            await ProblemAssert.IsProblemAsync(foreign, HttpStatusCode.NotFound, "not-found");

        // Delete by filter: only what passes it (the two originals and their copies), only the user's; no filter is refused.
        using (var none = await user.PostAsJsonAsync("memory/delete", new { }))
            await ProblemAssert.IsProblemAsync(none, HttpStatusCode.BadRequest, "validation");
        using (var foreign = await other.PostAsJsonAsync("memory/delete", new { metadata = new { project = "apollo" } }))
            Assert.Equal(0, (await foreign.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deleted").GetInt32());
        using (var apollo = await user.PostAsJsonAsync("memory/delete", new { metadata = new { project = "apollo" } }))
            Assert.Equal(4, (await apollo.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deleted").GetInt32());
        var left = (await user.GetFromJsonAsync<JsonElement>($"memory?kind=working")).GetProperty("memories").EnumerateArray().Select(m => m.GetProperty("content").GetString()).ToList();
        Assert.DoesNotContain("Kickoff on Monday", left);
        Assert.Contains("Design review Friday", left);
    }
}
