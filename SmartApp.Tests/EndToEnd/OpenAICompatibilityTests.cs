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
}
