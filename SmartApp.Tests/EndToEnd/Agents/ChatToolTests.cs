using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace SmartApp.Tests.EndToEnd;

/// <summary>
/// Chat turns in which the model calls SmartApp's tools over the user's own data, through the dev host: the fake model is
/// scripted per test (a marker in the message) to call tools the way a real model does, streamed as OpenAI streams calls.
/// </summary>
[Collection(DevHostCollection.Name)]
public sealed class ChatToolTests(DevHostFixture app) : IAsyncLifetime
{
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        app.Model.Failure = FakeModelFailure.None;
        app.Model.Down = false;
        return Task.CompletedTask;
    }

    private static string Marker() => "AGENT" + Guid.NewGuid().ToString("N")[..12];

    private static string Json(object value) => JsonSerializer.Serialize(value);

    private async Task<(HttpClient User, string FileId)> UserWithFileAsync(string who)
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail(who));
        var file = await FileTests.UploadAsync(user, TestDocuments.Pdf(["Acme Kettle guide"], ["Warranty terms", "The warranty covers water damage for 24 months from purchase."]), "kettle.pdf", "application/pdf");
        var fileId = file.GetProperty("id").GetString()!;
        await FileTests.WaitForAsync(user, fileId, "indexed");
        return (user, fileId);
    }

    [Fact]
    public async Task The_model_searches_files_with_a_tool_and_the_answer_cites_the_passage_and_is_stored_as_streamed()
    {
        var (user, fileId) = await UserWithFileAsync("agent-files");
        var marker = Marker();
        app.Model.Script(marker, new FakeToolCall("search_files", Json(new { query = "warranty water damage" })));
        var conversation = await ChatTests.StartAsync(user);

        // No context up front: whatever the reply cites, the tool found.
        var events = await ChatTests.StreamAsync(user, conversation, new { content = $"{marker} What does the warranty cover?", useMemory = false, useFiles = false });

        Assert.Equal(["meta", "tool_call", "tool_result"], events.Take(3).Select(e => e.Event));
        Assert.Equal("done", events[^1].Event);
        Assert.Empty(events[0].Data.GetProperty("citations").EnumerateArray());
        var call = events[1].Data;
        Assert.Equal("search_files", call.GetProperty("name").GetString());
        Assert.Equal("warranty water damage", call.GetProperty("arguments").GetProperty("query").GetString());
        var result = events[2].Data;
        Assert.Equal(call.GetProperty("callId").GetString(), result.GetProperty("callId").GetString());
        var passages = result.GetProperty("result").GetProperty("passages").EnumerateArray().ToList();
        Assert.Contains(passages, p => p.GetProperty("fileId").GetString() == fileId && p.GetProperty("text").GetString()!.Contains("water damage"));

        var streamed = string.Concat(events.Where(e => e.Event == "delta").Select(e => e.Data.GetProperty("text").GetString()));
        Assert.Contains("water damage", streamed); // the model answered from the tool's result
        var citations = events[^1].Data.GetProperty("citations").EnumerateArray().ToList();
        Assert.Contains(citations, c => c.GetProperty("type").GetString() == "file" && c.GetProperty("fileId").GetString() == fileId && c.GetProperty("page").GetInt32() == 2);

        // The stored turn is what was streamed: text, tool calls with their results, citations.
        var reply = (await ChatTests.MessagesAsync(user, conversation))[^1];
        Assert.Equal(streamed, reply.GetProperty("content").GetString());
        var stored = reply.GetProperty("toolCalls").EnumerateArray().Single();
        Assert.Equal(call.GetProperty("callId").GetString(), stored.GetProperty("callId").GetString());
        Assert.Equal("search_files", stored.GetProperty("name").GetString());
        Assert.Equal(result.GetProperty("result").GetRawText(), stored.GetProperty("result").GetRawText());
        Assert.Equal(citations.Count, reply.GetProperty("citations").GetArrayLength());
        Assert.False(reply.TryGetProperty("toolLimitReached", out _));
    }

    [Fact]
    public async Task Remember_keeps_a_memory_that_a_search_finds_later_and_forget_removes_it()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("agent-remember"));
        var marker = Marker();
        var fact = $"The user's bicycle is a blue Brompton called {marker}";
        app.Model.Script(marker, new FakeToolCall("remember", Json(new { content = fact })));
        var conversation = await ChatTests.StartAsync(user);
        var events = await ChatTests.StreamAsync(user, conversation, new { content = $"Please remember this: {fact}" });
        var result = events.Single(e => e.Event == "tool_result").Data.GetProperty("result");
        var id = result.GetProperty("id").GetString()!;
        Assert.Equal("note", result.GetProperty("remembered").GetString());

        // The memory exists, and a search finds it by meaning.
        using (var read = await user.GetAsync($"memory/documents/{id}")) Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        using var search = await user.PostAsJsonAsync("memory/search", new { terms = "what bike does the user ride", kinds = new[] { "semantic" } });
        var found = (await search.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results").EnumerateArray().ToList();
        Assert.Contains(found, r => r.GetProperty("documentId").GetString() == id);

        // In a later turn the model finds it with search_memory, and forgets it when asked.
        var later = Marker();
        app.Model.Script(later, new FakeToolCall("search_memory", Json(new { query = "bicycle" })), new FakeToolCall("forget", Json(new { id })));
        var second = await ChatTests.StreamAsync(user, conversation, new { content = $"{later} Which bike do I have? Then forget it." });
        var results = second.Where(e => e.Event == "tool_result").Select(e => e.Data.GetProperty("result")).ToList();
        Assert.Contains(results[0].GetProperty("memories").EnumerateArray(), m => m.GetProperty("id").GetString() == id);
        Assert.Equal(id, results[1].GetProperty("forgotten").GetString());
        using (var gone = await user.GetAsync($"memory/documents/{id}")) Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task Query_data_answers_from_a_table()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("agent-data"));
        foreach (var plant in new[] { new { name = "Fern", water = "weekly" }, new { name = "Cactus", water = "monthly" }, new { name = "Basil", water = "daily" } })
            using (var created = await user.PostAsJsonAsync("data/tables/plants/records", plant)) Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var marker = Marker();
        app.Model.Script(marker,
            new FakeToolCall("list_tables", "{}"),
            new FakeToolCall("query_data", Json(new { table = "plants", where = new[] { new { field = "water", op = "eq", value = "monthly" } } })));
        var conversation = await ChatTests.StartAsync(user);
        var events = await ChatTests.StreamAsync(user, conversation, new { content = $"{marker} Which of my plants need water only monthly?", useFiles = false, useMemory = false });

        Assert.Equal(["tool_call", "tool_result", "tool_call", "tool_result"], events.Where(e => e.Event.StartsWith("tool_", StringComparison.Ordinal)).Select(e => e.Event));
        var results = events.Where(e => e.Event == "tool_result").Select(e => e.Data.GetProperty("result")).ToList();
        Assert.Contains(results[0].GetProperty("tables").EnumerateArray(), t => t.GetProperty("name").GetString() == "plants" && t.GetProperty("rows").GetInt32() == 3);
        var records = results[1].GetProperty("records").EnumerateArray().Select(r => r.GetProperty("data").GetProperty("name").GetString()).ToList();
        Assert.Equal(["Cactus"], records);
        var answer = string.Concat(events.Where(e => e.Event == "delta").Select(e => e.Data.GetProperty("text").GetString()));
        Assert.Contains("Cactus", answer);
        Assert.DoesNotContain("Fern", answer);
    }

    [Fact]
    public async Task A_tool_call_naming_another_users_file_or_record_finds_nothing()
    {
        var (owner, fileId) = await UserWithFileAsync("agent-owner");
        using (var created = await owner.PostAsJsonAsync("data/tables/secrets/records", new { id = "r1", note = "owner's private note" }))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var (stranger, _) = await app.SignInAsync(TestUsers.NewEmail("agent-stranger"));
        var marker = Marker();
        app.Model.Script(marker,
            new FakeToolCall("ask_file", Json(new { fileId, question = "What does the warranty cover?" })),
            new FakeToolCall("get_record", Json(new { table = "secrets", id = "r1" })),
            new FakeToolCall("search_files", Json(new { query = "kettle warranty terms", fileIds = new[] { fileId } })),
            new FakeToolCall("search_files", Json(new { query = "kettle warranty terms" })));
        var conversation = await ChatTests.StartAsync(stranger);
        var events = await ChatTests.StreamAsync(stranger, conversation, new { content = $"{marker} What does the kettle warranty cover, and what is in secrets/r1?" });

        var results = events.Where(e => e.Event == "tool_result").Select(e => e.Data.GetProperty("result")).ToList();
        Assert.Equal(4, results.Count);
        Assert.Equal("No such file.", results[0].GetProperty("error").GetString());
        Assert.Equal("No such record.", results[1].GetProperty("error").GetString());
        Assert.Equal("No such file.", results[2].GetProperty("error").GetString());
        Assert.Empty(results[3].GetProperty("passages").EnumerateArray());
        var everything = string.Join("\n", events.Select(e => e.Data.GetRawText()));
        Assert.DoesNotContain("water damage", everything);
        Assert.DoesNotContain("private note", everything);
        Assert.Empty(events[^1].Data.GetProperty("citations").EnumerateArray());
    }

    [Fact]
    public async Task The_OpenAI_endpoint_runs_SmartApp_tools_when_asked_and_never_with_the_clients_own_tools()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("agent-openai"));
        using (await user.PostAsJsonAsync("memory/documents", new { document = new { text = "The user's flat is on the fourth floor" } })) { }
        var marker = Marker();
        app.Model.Script(marker, new FakeToolCall("search_memory", Json(new { query = "which floor is the flat on" })));

        using var completion = await user.PostAsJsonAsync("v1/chat/completions", new
        {
            messages = new[] { new { role = "user", content = $"{marker} Which floor do I live on?" } },
            smartapp_tools = true,
        });
        Assert.Equal(HttpStatusCode.OK, completion.StatusCode);
        var body = await completion.Content.ReadFromJsonAsync<JsonElement>();
        var call = body.GetProperty("smartapp_tool_calls").EnumerateArray().Single();
        Assert.Equal("search_memory", call.GetProperty("name").GetString());
        Assert.Contains("fourth floor", call.GetProperty("result").GetRawText());
        Assert.Contains("fourth floor", body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());

        // Without the flag nothing runs on the server; with the client's own tools the flag is refused.
        using var plain = await user.PostAsJsonAsync("v1/chat/completions", new { messages = new[] { new { role = "user", content = $"{marker} Which floor?" } } });
        Assert.False((await plain.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("smartapp_tool_calls", out _));
        using var both = await user.PostAsJsonAsync("v1/chat/completions", new
        {
            messages = new[] { new { role = "user", content = "Hi" } },
            smartapp_tools = true,
            tools = new[] { new { type = "function", function = new { name = "lookup", parameters = new { type = "object" } } } },
        });
        Assert.Equal(HttpStatusCode.BadRequest, both.StatusCode);
        Assert.Equal("smartapp_tools", (await both.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task A_model_that_keeps_calling_tools_stops_at_the_bound_with_an_answer()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("agent-loop"));
        var marker = Marker();
        app.Model.ScriptEndless(marker, new FakeToolCall("search_memory", Json(new { query = "anything at all" })));
        var conversation = await ChatTests.StartAsync(user);
        var before = app.Model.Completions;
        var events = await ChatTests.StreamAsync(user, conversation, new { content = $"{marker} Find everything you can." });

        // Four rounds of calls (Agents:MaxToolRounds), then one request without tools, which the model must answer.
        Assert.Equal(4, events.Count(e => e.Event == "tool_call"));
        Assert.Equal(4, events.Count(e => e.Event == "tool_result"));
        Assert.Equal(5, app.Model.Completions - before);
        var done = events[^1];
        Assert.Equal("done", done.Event);
        Assert.True(done.Data.GetProperty("toolLimitReached").GetBoolean());
        var answer = string.Concat(events.Where(e => e.Event == "delta").Select(e => e.Data.GetProperty("text").GetString()));
        Assert.NotEmpty(answer);
        var reply = (await ChatTests.MessagesAsync(user, conversation))[^1];
        Assert.Equal(answer, reply.GetProperty("content").GetString());
        Assert.True(reply.GetProperty("toolLimitReached").GetBoolean());
        Assert.Equal(4, reply.GetProperty("toolCalls").GetArrayLength());
    }

    [Fact]
    public async Task A_model_without_tool_support_answers_as_before_and_so_does_a_request_that_turns_tools_off()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("agent-notools"));
        using (await user.PostAsJsonAsync("memory/documents", new { document = new { text = "The user's favourite tea is genmaicha" } })) { }
        var marker = Marker();
        app.Model.Script(marker, new FakeToolCall("search_memory", Json(new { query = "tea" })));
        var conversation = await ChatTests.StartAsync(user);

        var off = await ChatTests.StreamAsync(user, conversation, new { content = $"{marker} Which tea do I like?", useTools = false });
        Assert.DoesNotContain(off, e => e.Event.StartsWith("tool_", StringComparison.Ordinal));
        Assert.Contains(off[0].Data.GetProperty("citations").EnumerateArray(), c => c.GetProperty("text").GetString()!.Contains("genmaicha"));

        lock (app.Model.ModelsWithoutTools) app.Model.ModelsWithoutTools.Add("e2e-model");
        try
        {
            var refused = await ChatTests.StreamAsync(user, conversation, new { content = $"{marker} Which tea do I like, again?" });
            Assert.DoesNotContain(refused, e => e.Event.StartsWith("tool_", StringComparison.Ordinal));
            Assert.Equal("done", refused[^1].Event);
            Assert.False(refused[^1].Data.GetProperty("degraded").GetBoolean());
            Assert.StartsWith(FakeVultr.ReplyPrefix, string.Concat(refused.Where(e => e.Event == "delta").Select(e => e.Data.GetProperty("text").GetString())));
            Assert.Contains(refused[0].Data.GetProperty("citations").EnumerateArray(), c => c.GetProperty("text").GetString()!.Contains("genmaicha"));
        }
        finally
        {
            lock (app.Model.ModelsWithoutTools) app.Model.ModelsWithoutTools.Clear();
            await Task.Delay(TimeSpan.FromSeconds(2.5)); // Agents:NoToolsModelMemory in the app under test
        }
    }

    [Fact]
    public async Task With_the_model_down_a_turn_with_tools_falls_back_to_memory_and_files()
    {
        var (user, _) = await UserWithFileAsync("agent-down");
        var marker = Marker();
        app.Model.Script(marker, new FakeToolCall("search_files", Json(new { query = "warranty" })));
        var conversation = await ChatTests.StartAsync(user);
        app.Model.Down = true;
        var events = await ChatTests.StreamAsync(user, conversation, new { content = $"{marker} Does the warranty cover water damage?" });
        Assert.DoesNotContain(events, e => e.Event.StartsWith("tool_", StringComparison.Ordinal));
        Assert.True(events[^1].Data.GetProperty("degraded").GetBoolean());
        Assert.Contains("water damage", string.Concat(events.Where(e => e.Event == "delta").Select(e => e.Data.GetProperty("text").GetString())));
    }
}
