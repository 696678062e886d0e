using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace SmartApp.Fakes;

/// <summary>How the fake Raindrop misbehaves.</summary>
public enum FakeRaindropFault
{
    None,

    /// <summary>429 with <c>Retry-After: 1</c>.</summary>
    RateLimited,

    /// <summary>500.</summary>
    ServerError,

    /// <summary>Takes the request and never answers.</summary>
    Hang,
}

/// <summary>
/// Raindrop's API on 127.0.0.1 as its wire format has it (<c>POST /v1/{verb}</c>, camelCase JSON,
/// Bearer key), for SmartBuckets (it keeps the objects put, searches the text ones by words, and
/// answers questions about them), SmartMemory and SmartSQL (in their own files). It records every request it accepts, in order, so tests assert
/// what the app sent. It can fail on demand, or be stopped and started again on the same port.
/// </summary>
public sealed partial class FakeRaindrop : IAsyncDisposable
{
    public const string ApiKey = "rd_e2e_key";
    public const string AnswerPrefix = "Raindrop read it: ";

    private readonly ConcurrentDictionary<string, (byte[] Content, string ContentType)> _objects = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private WebApplication? _app;
    private int _port;

    public string BaseUrl { get; private set; } = "";

    public FakeRaindropFault Fault { get; set; }

    /// <summary>Every request answered with success, in the order they came: the verb and its body.</summary>
    public ConcurrentQueue<(string Verb, JsonObject Body)> Received { get; } = new();

    /// <summary>Requests refused by a fault (they reached the server).</summary>
    public int Refused => Volatile.Read(ref _refused);

    private int _refused;

    public IReadOnlyCollection<string> Keys => [.. _objects.Keys];

    public static async Task<FakeRaindrop> StartAsync()
    {
        var fake = new FakeRaindrop();
        await fake.StartAgainAsync();
        return fake;
    }

    /// <summary>Stops listening: connections are refused until <see cref="StartAgainAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (_app is null) return;
        await _app.DisposeAsync();
        _app = null;
    }

    public async Task StartAgainAsync()
    {
        var (app, baseUrl) = await LoopbackServer.StartAsync(Map, _port);
        (_app, BaseUrl, _port) = (app, baseUrl, new Uri(baseUrl).Port);
    }

    private void Map(WebApplication routes)
    {
        routes.MapPost("/v1/{verb}", async (string verb, HttpContext context) =>
        {
            if (context.Request.Headers.Authorization.ToString() != $"Bearer {ApiKey}")
                return Results.Json(new { message = "unauthenticated" }, statusCode: 401);
            switch (Fault)
            {
                case FakeRaindropFault.RateLimited:
                    Interlocked.Increment(ref _refused);
                    context.Response.Headers.RetryAfter = "1";
                    return Results.Json(new { message = "rate limited" }, statusCode: 429);
                case FakeRaindropFault.ServerError:
                    Interlocked.Increment(ref _refused);
                    return Results.Json(new { message = "internal error" }, statusCode: 500);
                case FakeRaindropFault.Hang:
                    Interlocked.Increment(ref _refused);
                    await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                    return Results.Empty;
            }
            if (await JsonNode.ParseAsync(context.Request.Body) is not JsonObject body)
                return Results.Json(new { message = "body must be a JSON object" }, statusCode: 400);
            JsonObject? answer;
            lock (_gate) // one request at a time, recorded in the order it was applied
            {
                answer = Answer(verb, body);
                if (answer is not null) Received.Enqueue((verb, body));
            }
            if (answer is null) return Results.Json(new { message = $"bad request to {verb}" }, statusCode: 400);
            return Results.Content(answer.ToJsonString(), "application/json");
        });
    }

    private JsonObject? Answer(string verb, JsonObject body)
    {
        var key = Str(body["key"]);
        switch (verb)
        {
            case "put_object" when key is not null && (body["bucketLocation"]?["bucket"]?["name"] is not null) && Str(body["content"]) is { } content:
                var contentType = Str(body["contentType"]) ?? "application/octet-stream";
                _objects[key] = (Convert.FromBase64String(content), contentType);
                return new JsonObject { ["bucket"] = new JsonObject { ["bucketName"] = Str(body["bucketLocation"]!["bucket"]!["name"]) }, ["key"] = key };
            case "delete_object" when key is not null:
                _objects.TryRemove(key, out _);
                return [];
            case "chunk_search" when Str(body["input"]) is { } input && body["bucketLocations"] is JsonArray && body["requestId"] is not null:
                return new JsonObject { ["results"] = new JsonArray([.. Search(input)]) };
            case "document_query" when Str(body["objectId"]) is { } objectId && Str(body["input"]) is { } question:
                return _objects.TryGetValue(objectId, out var found) && IsText(found.ContentType)
                    ? new JsonObject { ["answer"] = AnswerPrefix + FirstMatch(Encoding.UTF8.GetString(found.Content), question) }
                    : new JsonObject { ["answer"] = "" };
            default:
                return body["smartMemoryLocation"]?["smartMemory"]?["name"] is not null ? AnswerMemory(verb, body)
                    : body["smartSqlLocation"]?["smartSql"]?["name"] is not null ? AnswerSql(verb, body)
                    : null;
        }
    }

    /// <summary>Paragraphs of the text objects that share a word with the input, best first (score: shared words / input words).</summary>
    private IEnumerable<JsonNode> Search(string input)
    {
        var words = Words(input);
        return _objects
            .Where(o => IsText(o.Value.ContentType))
            .SelectMany(o => Encoding.UTF8.GetString(o.Value.Content).Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(text => (Key: o.Key, Text: text, Score: words.Count == 0 ? 0 : Words(text).Intersect(words).Count() / (double)words.Count)))
            .Where(p => p.Score > 0)
            .OrderByDescending(p => p.Score)
            .Take(20)
            .Select(p => (JsonNode)new JsonObject
            {
                ["text"] = p.Text, ["score"] = p.Score.ToString(System.Globalization.CultureInfo.InvariantCulture), // numbers may come as strings
                ["type"] = "text/plain", ["chunkSignature"] = $"sig-{Math.Abs(p.Text.GetHashCode()):x}",
                ["source"] = new JsonObject { ["object"] = p.Key, ["bucket"] = new JsonObject { ["bucketName"] = "smartapp-files" } },
            });
    }

    private static string FirstMatch(string text, string question)
    {
        var words = Words(question);
        return text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .OrderByDescending(p => Words(p).Intersect(words).Count()).FirstOrDefault() ?? "";
    }

    private static HashSet<string> Words(string text) =>
        [.. text.ToLowerInvariant().Split([' ', '\n', '\t', '.', ',', '?', '!', ':', ';', '"', '\''], StringSplitOptions.RemoveEmptyEntries).Where(w => w.Length > 2)];

    private static string? Str(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    /// <summary>The formats this fake reads (others it keeps but cannot search, as a store without that parser would).</summary>
    private static bool IsText(string contentType) => contentType.Split(';')[0].Trim() is "text/plain" or "text/markdown" or "text/csv";

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _sql.Dispose();
    }
}
