using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SmartApp.Tests.EndToEnd;

/// <summary>
/// Vultr Serverless Inference on 127.0.0.1, speaking its OpenAI-compatible wire format:
/// <c>POST /v1/chat/completions</c> with a bearer key, answering with a chat completion whose text
/// is <see cref="Reply"/> applied to the last user message. It can be made to fail as an outage does.
/// </summary>
public sealed class FakeVultr : IAsyncDisposable
{
    public const string ApiKey = "vultr_e2e_key";
    public const string ReplyPrefix = "Model summary: ";

    private WebApplication? _app;
    private int _completions;

    public string BaseUrl { get; private set; } = "";

    /// <summary>While true, every completion answers 503 with Vultr's error envelope.</summary>
    public bool Down { get; set; }

    /// <summary>How many completions were asked for (answered or not).</summary>
    public int Completions => Volatile.Read(ref _completions);

    /// <summary>The text the model answers for the last user message: by default, that message's lines after its first, behind a marker.</summary>
    public Func<string, string> Reply { get; set; } = prompt => ReplyPrefix + string.Join(" ", prompt.Split('\n').Skip(1).DefaultIfEmpty(prompt));

    /// <summary>The requests received, as JSON, newest last.</summary>
    public List<JsonObject> Requests { get; } = [];

    public static async Task<FakeVultr> StartAsync()
    {
        var fake = new FakeVultr();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapPost("/v1/chat/completions", (HttpRequest request) => fake.CompleteAsync(request));
        await app.StartAsync();
        fake._app = app;
        fake.BaseUrl = app.Urls.Single().TrimEnd('/') + "/v1";
        return fake;
    }

    private async Task<IResult> CompleteAsync(HttpRequest request)
    {
        Interlocked.Increment(ref _completions);
        if (request.Headers.Authorization.ToString() != $"Bearer {ApiKey}")
            return Results.Json(new { message = "No API key provided" }, statusCode: 401);
        var body = (await JsonNode.ParseAsync(request.Body))!.AsObject();
        lock (Requests) Requests.Add(body);
        if (Down)
            return Results.Json(new { error = new { code = 503, message = "Model unavailable", type = "service_unavailable" } }, statusCode: 503);

        var lastUser = body["messages"]!.AsArray().Last(m => m!["role"]!.GetValue<string>() == "user")!["content"]!.GetValue<string>();
        var text = Reply(lastUser);
        return Results.Json(new
        {
            id = "chatcmpl-" + Guid.NewGuid().ToString("N"),
            @object = "chat.completion",
            created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            model = body["model"]!.GetValue<string>(),
            choices = new[] { new { index = 0, message = new { role = "assistant", content = text }, finish_reason = "stop" } },
            usage = new { prompt_tokens = lastUser.Length / 4, completion_tokens = text.Length / 4, total_tokens = (lastUser.Length + text.Length) / 4 },
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }
}
