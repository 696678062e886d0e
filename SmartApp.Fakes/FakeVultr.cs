using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SmartApp.Fakes;

/// <summary>
/// Vultr Serverless Inference on 127.0.0.1, speaking its OpenAI-compatible wire format:
/// <c>GET /v1/models</c> (the <see cref="Models"/> it serves) and <c>POST /v1/chat/completions</c> with a bearer key,
/// answering with a chat completion whose text is <see cref="Reply"/> applied to the last user message. A model it
/// does not serve is refused (404 <c>model_not_found</c>) as the real service refuses it. It can be made to fail as an outage does.
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

    /// <summary>How completions misbehave (see <see cref="FakeModelFailure"/>).</summary>
    public FakeModelFailure Failure { get; set; }

    /// <summary>Completions whose caller went away before the answer was finished.</summary>
    public int Abandoned => Volatile.Read(ref _abandoned);

    private int _abandoned;
    private int _rateLimited;

    /// <summary>How many completions were asked for (answered or not).</summary>
    public int Completions => Volatile.Read(ref _completions);

    /// <summary>The text the model answers for the last user message: by default, that message's lines after its first, behind a marker.</summary>
    public Func<string, string> Reply { get; set; } = prompt => ReplyPrefix + string.Join(" ", prompt.Split('\n').Skip(1).DefaultIfEmpty(prompt));

    /// <summary>The models it serves, in the order <c>GET /v1/models</c> lists them.</summary>
    public List<string> Models { get; } = ["e2e-model", "e2e-other-model"];

    /// <summary>While true, <c>GET /v1/models</c> answers 503.</summary>
    public bool ModelListDown { get; set; }

    /// <summary>The requests received, as JSON, newest last.</summary>
    public List<JsonObject> Requests { get; } = [];

    public static async Task<FakeVultr> StartAsync()
    {
        var fake = new FakeVultr();
        var (app, baseUrl) = await LoopbackServer.StartAsync(routes =>
        {
            routes.MapPost("/v1/chat/completions", (HttpContext context) => fake.CompleteAsync(context));
            routes.MapGet("/v1/models", (HttpContext context) => fake.ListModelsAsync(context));
        });
        fake._app = app;
        fake.BaseUrl = baseUrl + "/v1";
        return fake;
    }

    private async Task ListModelsAsync(HttpContext context)
    {
        if (context.Request.Headers.Authorization.ToString() != $"Bearer {ApiKey}")
        {
            await Results.Json(new { message = "No API key provided" }, statusCode: 401).ExecuteAsync(context);
            return;
        }
        if (ModelListDown)
        {
            await Results.Json(new { error = new { code = 503, message = "Service unavailable", type = "service_unavailable" } }, statusCode: 503).ExecuteAsync(context);
            return;
        }
        string[] models;
        lock (Models) models = [.. Models];
        await Results.Json(new { @object = "list", data = models.Select(id => new { id, @object = "model", created = 1767225600, owned_by = "vultr" }) }).ExecuteAsync(context);
    }

    private async Task CompleteAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        Interlocked.Increment(ref _completions);
        if (request.Headers.Authorization.ToString() != $"Bearer {ApiKey}")
        {
            await Results.Json(new { message = "No API key provided" }, statusCode: 401).ExecuteAsync(context);
            return;
        }
        var body = (await JsonNode.ParseAsync(request.Body))!.AsObject();
        lock (Requests) Requests.Add(body);
        var failure = Failure;
        if (Down || failure == FakeModelFailure.ServerError)
        {
            await Results.Json(new { error = new { code = 503, message = "Model unavailable", type = "service_unavailable" } }, statusCode: Down ? 503 : 500).ExecuteAsync(context);
            return;
        }
        if (failure == FakeModelFailure.RateLimitOnce && Interlocked.Exchange(ref _rateLimited, 1) == 0)
        {
            response.Headers.RetryAfter = "1";
            await Results.Json(new { error = new { code = 429, message = "Rate limit exceeded", type = "rate_limit" } }, statusCode: 429).ExecuteAsync(context);
            return;
        }

        var requested = body["model"] is JsonValue m && m.TryGetValue<string>(out var name) ? name : "";
        bool served;
        lock (Models) served = Models.Contains(requested);
        if (!served)
        {
            await Results.Json(new { error = new { message = $"The model `{requested}` does not exist", type = "invalid_request_error", code = "model_not_found" } }, statusCode: 404).ExecuteAsync(context);
            return;
        }

        var lastUser = body["messages"]!.AsArray().Last(m => m!["role"]!.GetValue<string>() == "user")!["content"]!.GetValue<string>();
        var text = Reply(lastUser);
        var id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        var model = body["model"]!.GetValue<string>();
        var usage = new { prompt_tokens = lastUser.Length / 4, completion_tokens = text.Length / 4, total_tokens = (lastUser.Length + text.Length) / 4 };
        if (body["stream"]?.GetValue<bool>() != true)
        {
            await Results.Json(new
            {
                id, @object = "chat.completion", created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model,
                choices = new[] { new { index = 0, message = new { role = "assistant", content = text }, finish_reason = "stop" } },
                usage,
            }).ExecuteAsync(context);
            return;
        }

        // Streaming: the OpenAI chunk format over SSE, one word per chunk, then usage (when asked for) and [DONE].
        response.ContentType = "text/event-stream";
        var aborted = context.RequestAborted;
        try
        {
            if (failure == FakeModelFailure.HangBeforeFirstToken)
            {
                await response.Body.FlushAsync(aborted);
                await Task.Delay(Timeout.Infinite, aborted);
            }
            var words = text.Split(' ');
            for (var i = 0; i < words.Length; i++)
            {
                if (i == 3 && failure == FakeModelFailure.StallMidStream) await Task.Delay(Timeout.Infinite, aborted);
                if (i == 3 && failure == FakeModelFailure.DropMidStream)
                {
                    context.Abort();
                    return;
                }
                if (i == 3 && failure == FakeModelFailure.SlowAfterThirdWord) await Task.Delay(TimeSpan.FromSeconds(30), aborted);
                var delta = (i == 0 ? "" : " ") + words[i];
                await WriteChunkAsync(response, new { id, @object = "chat.completion.chunk", created = 0, model, choices = new[] { new { index = 0, delta = new { content = delta }, finish_reason = (string?)null } } }, aborted);
                await Task.Delay(TokenDelay, aborted);
            }
            await WriteChunkAsync(response, new { id, @object = "chat.completion.chunk", created = 0, model, choices = new[] { new { index = 0, delta = new { }, finish_reason = "stop" } } }, aborted);
            if (body["stream_options"]?["include_usage"]?.GetValue<bool>() == true)
                await WriteChunkAsync(response, new { id, @object = "chat.completion.chunk", created = 0, model, choices = Array.Empty<object>(), usage }, aborted);
            await response.WriteAsync("data: [DONE]\n\n", aborted);
            await response.Body.FlushAsync(aborted);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            Interlocked.Increment(ref _abandoned);
        }
    }

    /// <summary>Pause between streamed words.</summary>
    public TimeSpan TokenDelay { get; set; } = TimeSpan.FromMilliseconds(2);

    private static async Task WriteChunkAsync(HttpResponse response, object chunk, CancellationToken cancellationToken)
    {
        await response.WriteAsync($"data: {JsonSerializer.Serialize(chunk)}\n\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }
}

/// <summary>The ways the fake model fails, as real providers do.</summary>
public enum FakeModelFailure
{
    None,

    /// <summary>The next completion answers 429 with Retry-After: 1; later ones succeed.</summary>
    RateLimitOnce,

    /// <summary>Every completion answers 500.</summary>
    ServerError,

    /// <summary>Streams start (200, headers) but no token ever comes.</summary>
    HangBeforeFirstToken,

    /// <summary>Three words, then silence.</summary>
    StallMidStream,

    /// <summary>Three words, then the connection is dropped.</summary>
    DropMidStream,

    /// <summary>Three words, then 30 s before the rest (for a client that leaves).</summary>
    SlowAfterThirdWord,
}
