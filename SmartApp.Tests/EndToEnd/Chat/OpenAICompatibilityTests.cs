using System.ClientModel;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;

namespace SmartApp.Tests.EndToEnd;

/// <summary>The official OpenAI .NET client, pointed at SmartApp's <c>/api/v1</c>, gets grounded answers.</summary>
[Collection(DevHostCollection.Name)]
public sealed class OpenAICompatibilityTests(DevHostFixture app)
{
    private async Task<ChatClient> ClientForUserWithAFileAsync()
    {
        var (user, signIn) = await app.SignInAsync(TestUsers.NewEmail("openai"));
        var file = await FileTests.UploadAsync(user, TestDocuments.Pdf(["Acme Kettle guide"], ["Warranty terms", "The warranty covers water damage for 24 months from purchase."]), "kettle.pdf", "application/pdf");
        await FileTests.WaitForAsync(user, file.GetProperty("id").GetString()!, "indexed");
        return ClientFor(signIn, "e2e-model");
    }

    private ChatClient ClientFor(JsonElement signIn, string model) => OpenAIFor(signIn).GetChatClient(model);

    private OpenAIClient OpenAIFor(JsonElement signIn) =>
        new(new ApiKeyCredential(signIn.GetProperty("accessToken").GetString()!), new OpenAIClientOptions { Endpoint = new Uri(app.State["apiUrl"] + "/v1") });

    [Fact]
    public async Task The_client_lists_the_models_and_an_unknown_model_is_model_not_found()
    {
        var (_, signIn) = await app.SignInAsync(TestUsers.NewEmail("openai"));
        var models = await OpenAIFor(signIn).GetOpenAIModelClient().GetModelsAsync();
        Assert.Equal(app.Model.Models, models.Value.Select(m => m.Id));

        var calls = app.Model.Requests.Count;
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => ClientFor(signIn, "gpt-9-ultra").CompleteChatAsync([new UserChatMessage("Hello")]));
        Assert.Equal(404, refused.Status);
        var error = JsonDocument.Parse(refused.GetRawResponse()!.Content.ToString()).RootElement.GetProperty("error");
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
        Assert.Contains("gpt-9-ultra", error.GetProperty("message").GetString());
        Assert.Equal(calls, app.Model.Requests.Count);
    }

    [Fact]
    public async Task The_model_and_its_parameters_reach_the_provider_and_json_mode_is_honoured()
    {
        var (_, signIn) = await app.SignInAsync(TestUsers.NewEmail("openai"));
        var completion = await ClientFor(signIn, "e2e-other-model").CompleteChatAsync([new UserChatMessage("Give me a JSON object")], new ChatCompletionOptions
        {
            ResponseFormat = ChatResponseFormat.CreateJsonObjectFormat(),
            Temperature = 0.7f,
            TopP = 0.9f,
            MaxOutputTokenCount = 64,
            StopSequences = { "END" },
#pragma warning disable OPENAI001 // Seed is marked for evaluation in the client; the endpoint honours it
            Seed = 42,
#pragma warning restore OPENAI001
        });
        Assert.Equal("e2e-other-model", completion.Value.Model);
        // JSON mode: the answer parses as a JSON object.
        Assert.StartsWith(FakeVultr.ReplyPrefix, JsonDocument.Parse(completion.Value.Content[0].Text).RootElement.GetProperty("answer").GetString());
        var sent = app.Model.Requests.Last();
        Assert.Equal("e2e-other-model", (string?)sent["model"]);
        Assert.Equal("json_object", (string?)sent["response_format"]?["type"]);
        Assert.Equal(0.7, (double)sent["temperature"]!, 3);
        Assert.Equal(0.9, (double)sent["top_p"]!, 3);
        Assert.Equal(64, (int)(sent["max_completion_tokens"] ?? sent["max_tokens"])!);
        Assert.Equal("END", (string?)sent["stop"]?[0]);
        Assert.Equal(42, (int)sent["seed"]!);

        // A schema too.
        var schema = BinaryData.FromString("""{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]}""");
        await ClientFor(signIn, "e2e-model").CompleteChatAsync([new UserChatMessage("Answer as JSON")],
            new ChatCompletionOptions { ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("reply", schema) });
        var format = app.Model.Requests.Last()["response_format"]!;
        Assert.Equal("json_schema", (string?)format["type"]);
        Assert.Equal("reply", (string?)format["json_schema"]?["name"]);
        Assert.Equal("answer", (string?)format["json_schema"]?["schema"]?["required"]?[0]);
    }

    [Fact]
    public async Task Parameters_it_does_not_offer_are_refused_in_openai_s_error_body_never_dropped()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("openai"));
        var calls = app.Model.Requests.Count;
        var question = new[] { new { role = "user", content = "hello" } };
        var cases = new (object Body, string Param)[]
        {
            (new { messages = question, n = 2 }, "n"),
            (new { messages = question, tools = new[] { new { type = "retrieval" } } }, "tools[0]"),
            (new { messages = question, tools = new[] { new { type = "function", function = new { name = "look up!" } } } }, "tools[0].function.name"),
            (new { messages = question, tools = new[] { new { type = "function", function = new { name = "lookup", parameters = "none" } } } }, "tools[0].function.parameters"),
            (new { messages = question, tool_choice = "required" }, "tool_choice"),
            (new { messages = question, tools = new[] { new { type = "function", function = new { name = "lookup" } } }, tool_choice = new { type = "function", function = new { name = "other" } } }, "tool_choice"),
            (new { messages = question, functions = new[] { new { name = "lookup" } } }, "functions"),
            // A tool result that answers no call, and a call left unanswered before the next message.
            (new { messages = new object[] { new { role = "tool", tool_call_id = "call_x", content = "42" }, question[0] } }, "messages[0].tool_call_id"),
            (new { messages = new object[] { new { role = "assistant", tool_calls = new[] { new { id = "call_1", type = "function", function = new { name = "lookup", arguments = "{}" } } } }, question[0] } }, "messages[1]"),
            (new { messages = new object[] { question[0], new { role = "assistant", tool_calls = new[] { new { id = "call_1", type = "function", function = new { name = "lookup", arguments = "not json" } } } } } }, "messages[1].tool_calls[0].function.arguments"),
            (new { messages = question, temperature = 3 }, "temperature"),
            (new { messages = question, max_tokens = 1_000_000 }, "max_tokens"),
            (new { messages = question, stop = new[] { "a", "b", "c", "d", "e" } }, "stop"),
            (new { messages = question, response_format = new { type = "xml" } }, "response_format"),
            (new { messages = question, logit_bias = new Dictionary<string, int> { ["50256"] = -100 } }, "logit_bias"),
        };
        foreach (var (body, param) in cases)
        {
            using var response = await user.PostAsync("v1/chat/completions", new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
            var error = (await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<JsonElement>(response.Content)).GetProperty("error");
            Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
            Assert.Equal(param, error.GetProperty("param").GetString());
        }
        Assert.Equal(calls, app.Model.Requests.Count);
    }

    [Fact]
    public async Task A_plain_completion_is_grounded_and_carries_citations()
    {
        var client = await ClientForUserWithAFileAsync();
        var completion = await client.CompleteChatAsync([new SystemChatMessage("Answer in one sentence."), new UserChatMessage("Does my kettle warranty cover water damage?")]);

        Assert.StartsWith(FakeVultr.ReplyPrefix, completion.Value.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.Value.FinishReason);
        Assert.True(completion.Value.Usage.OutputTokenCount > 0);
        var raw = JsonDocument.Parse(completion.GetRawResponse().Content.ToString()).RootElement;
        Assert.Contains(raw.GetProperty("citations").EnumerateArray(), c => c.GetProperty("page").GetInt32() == 2 && c.GetProperty("text").GetString()!.Contains("water damage"));

        // The app's system message ranks below SmartApp's own instructions; the file is quoted as data.
        var prompt = app.Model.Requests.Last()["messages"]!.AsArray();
        Assert.Contains("not instructions", prompt[0]!["content"]!.GetValue<string>());
        Assert.Contains("Answer in one sentence.", prompt[1]!["content"]!.GetValue<string>());
        Assert.Contains(prompt, m => m!["content"]!.GetValue<string>().Contains("water damage for 24 months"));
    }

    [Fact]
    public async Task A_streamed_completion_arrives_in_pieces_with_usage()
    {
        var client = await ClientForUserWithAFileAsync();
        var text = new StringBuilder();
        var updates = 0;
        ChatTokenUsage? usage = null;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("How long is water damage covered?")],
                           new ChatCompletionOptions()))
        {
            updates++;
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            usage ??= update.Usage;
        }
        Assert.True(updates > 3);
        Assert.StartsWith(FakeVultr.ReplyPrefix, text.ToString());
        Assert.NotNull(usage);
        Assert.True(usage.OutputTokenCount > 0);
    }

    [Fact]
    public async Task Mistyped_fields_and_system_text_past_the_prompt_budget_are_400s_that_reach_no_model()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("openai"));
        var calls = app.Model.Requests.Count;
        var question = new { role = "user", content = "hello" };
        var cases = new (object Body, string Field)[]
        {
            (new { model = 1, messages = new[] { question } }, "model"),
            (new { messages = new[] { question }, stream = "yes" }, "stream"),
            (new { messages = "hello" }, "messages"),
            (new { messages = new object[] { new { role = "user", content = 42 } } }, "messages[0].content"),
            (new { messages = new object[] { new { role = "user", content = new[] { new { type = "text", text = 7 } } } } }, "messages[0].content"),
            // About 1 MB of system text sent to the paid model on every call: bounded like a message.
            (new { messages = new object[] { new { role = "system", content = new string('s', 1_000_000) }, question } }, "messages"),
            // Within the bytes, but more tokens than the prompt may use.
            (new { messages = new object[] { new { role = "developer", content = string.Join(' ', Enumerable.Range(0, 2000).Select(i => $"w{i}")) }, new { role = "user", content = string.Join(' ', Enumerable.Range(0, 2500).Select(i => $"q{i}")) } } }, "messages"),
        };
        foreach (var (body, field) in cases)
        {
            // OpenAI's error body on this route, naming the field.
            using var response = await user.PostAsync("v1/chat/completions", new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
            var error = (await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<JsonElement>(response.Content)).GetProperty("error");
            Assert.Equal(field, error.GetProperty("param").GetString());
        }
        Assert.Equal(calls, app.Model.Requests.Count);
        var usage = (await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<JsonElement>(user, "billing/subscription")).GetProperty("usage");
        Assert.Equal(0, usage.GetProperty("messagesToday").GetInt32());
    }

    private static readonly ChatTool OrderStatus = ChatTool.CreateFunctionTool("get_order_status", "The shipping status of one of the user's orders",
        BinaryData.FromString("""{"type":"object","properties":{"order_id":{"type":"string"}},"required":["order_id"]}"""));

    [Fact]
    public async Task The_model_calls_the_caller_s_tools_and_answers_from_their_results()
    {
        var (_, signIn) = await app.SignInAsync(TestUsers.NewEmail("openai"));
        var client = ClientFor(signIn, "e2e-model");
        List<OpenAI.Chat.ChatMessage> messages = [new UserChatMessage("Use get_order_status to see where order 42 is")];
        var options = new ChatCompletionOptions { Tools = { OrderStatus } };

        var first = (await client.CompleteChatAsync(messages, options)).Value;
        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        var call = Assert.Single(first.ToolCalls);
        Assert.Equal("get_order_status", call.FunctionName);
        Assert.Equal("e2e", JsonDocument.Parse(call.FunctionArguments.ToString()).RootElement.GetProperty("order_id").GetString());
        var declared = app.Model.Requests.Last()["tools"]![0]!["function"]!;
        Assert.Equal("get_order_status", (string?)declared["name"]);
        Assert.Equal("order_id", (string?)declared["parameters"]?["required"]?[0]);

        // The caller runs the tool and sends its result; the model answers from it.
        messages.Add(new AssistantChatMessage(first.ToolCalls));
        messages.Add(new ToolChatMessage(call.Id, "shipped on Monday"));
        var second = (await client.CompleteChatAsync(messages, options)).Value;
        Assert.Equal(ChatFinishReason.Stop, second.FinishReason);
        Assert.Contains("the tool answered shipped on Monday", second.Content[0].Text);
        var sent = app.Model.Requests.Last()["messages"]!.AsArray();
        Assert.Equal(call.Id, (string?)sent[^2]!["tool_calls"]?[0]?["id"]);
        Assert.Equal(call.Id, (string?)sent[^1]!["tool_call_id"]);

        // tool_choice "none" keeps the model to words; naming the function makes it call it even unmentioned (another user: the free plan's replies a day are few).
        var (_, another) = await app.SignInAsync(TestUsers.NewEmail("openai"));
        client = ClientFor(another, "e2e-model");
        var none = (await client.CompleteChatAsync([new UserChatMessage("Use get_order_status for order 7")], new ChatCompletionOptions { Tools = { OrderStatus }, ToolChoice = ChatToolChoice.CreateNoneChoice() })).Value;
        Assert.Equal(ChatFinishReason.Stop, none.FinishReason);
        Assert.Empty(none.ToolCalls);
        var named = (await client.CompleteChatAsync([new UserChatMessage("Where is order 7?")], new ChatCompletionOptions { Tools = { OrderStatus }, ToolChoice = ChatToolChoice.CreateFunctionChoice("get_order_status") })).Value;
        Assert.Equal("get_order_status", Assert.Single(named.ToolCalls).FunctionName);
    }

    [Fact]
    public async Task Streamed_tool_calls_arrive_as_deltas_the_client_assembles()
    {
        var (_, signIn) = await app.SignInAsync(TestUsers.NewEmail("openai"));
        string? id = null, name = null;
        var arguments = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var update in ClientFor(signIn, "e2e-model").CompleteChatStreamingAsync([new UserChatMessage("Please get_order_status for order 9")],
                           new ChatCompletionOptions { Tools = { OrderStatus } }))
        {
            foreach (var part in update.ToolCallUpdates)
            {
                Assert.Equal(0, part.Index);
                id ??= part.ToolCallId;
                name ??= part.FunctionName;
                arguments.Append(part.FunctionArgumentsUpdate?.ToString());
            }
            finish ??= update.FinishReason;
        }
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.StartsWith("call_", id);
        Assert.Equal("get_order_status", name);
        Assert.Equal("e2e", JsonDocument.Parse(arguments.ToString()).RootElement.GetProperty("order_id").GetString());
    }

    [Fact]
    public async Task A_used_up_daily_quota_fails_the_official_client_at_once_instead_of_waiting_for_the_reset()
    {
        var (_, signIn) = await app.SignInAsync(TestUsers.NewEmail("openai"));
        var client = ClientFor(signIn, "e2e-model");
        for (var i = 0; i < DevHostFixture.FreeMessagesPerDay; i++) await client.CompleteChatAsync([new UserChatMessage($"Question {i}")]);
        // The client retries a 429 after its Retry-After; the quota resets at midnight UTC, so the answer tells it to retry at once (and the message says when).
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage("One more")]));
        Assert.Equal(429, refused.Status);
        var response = refused.GetRawResponse()!;
        Assert.Equal("insufficient_quota", JsonDocument.Parse(response.Content.ToString()).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.True(response.Headers.TryGetValue("x-should-retry", out var retry) && retry == "false");
    }
}
