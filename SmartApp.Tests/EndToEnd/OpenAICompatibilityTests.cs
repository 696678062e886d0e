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
        return new ChatClient("any-model", new ApiKeyCredential(signIn.GetProperty("accessToken").GetString()!),
            new OpenAIClientOptions { Endpoint = new Uri(app.State["apiUrl"] + "/v1") });
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
            using var response = await user.PostAsync("v1/chat/completions", new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
            var problem = await ProblemAssert.IsProblemAsync(response, System.Net.HttpStatusCode.BadRequest, "validation");
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"{field}: {problem}");
        }
        Assert.Equal(calls, app.Model.Requests.Count);
        var usage = (await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<JsonElement>(user, "billing/subscription")).GetProperty("usage");
        Assert.Equal(0, usage.GetProperty("messagesToday").GetInt32());
    }
}
