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
                return Results.Json(new { code = "invalid_argument", message = "body must be a JSON object" }, statusCode: 400);
            if (Violation(verb, body) is { } violation)
            {
                Interlocked.Increment(ref _invalid);
                return Results.Json(new { code = "invalid_argument", message = violation }, statusCode: 400);
            }
            JsonObject? answer;
            lock (_gate) // one request at a time, recorded in the order it was applied
            {
                if (TakeFailure(verb) is { } failed) return Results.Content(failed.ToJsonString(), "application/json");
                answer = Answer(verb, body);
                if (answer is not null) Received.Enqueue((verb, body));
            }
            if (answer is null) return Results.Json(new { message = $"bad request to {verb}" }, statusCode: 400);
            return Results.Content(answer.ToJsonString(), "application/json");
        });
    }

    /// <summary>Requests refused for not matching the API's request types (unknown or missing fields, empty required values).</summary>
    public int Invalid => Volatile.Read(ref _invalid);

    private int _invalid;

    private readonly Dictionary<string, int> _failuresInBody = new(StringComparer.Ordinal);

    /// <summary>
    /// The next <paramref name="count"/> requests to <paramref name="verb"/> are answered 200 with a failure in the body, as
    /// Raindrop reports some: <c>execute_query</c> with <c>status: 400</c>, the others with <c>success: false</c>. Nothing is applied.
    /// </summary>
    public void FailInBody(string verb, int count)
    {
        lock (_gate) _failuresInBody[verb] = count;
    }

    private JsonObject? TakeFailure(string verb)
    {
        if (!_failuresInBody.TryGetValue(verb, out var left) || left <= 0) return null;
        _failuresInBody[verb] = left - 1;
        Interlocked.Increment(ref _refused);
        return verb == "execute_query"
            ? new JsonObject { ["results"] = "[]", ["format"] = "json", ["queryExecuted"] = "", ["status"] = 400, ["aiReasoning"] = "SQLITE_ERROR: the statement failed" }
            : new JsonObject { ["success"] = false, ["error"] = "the operation failed" };
    }

    /// <summary>
    /// Each verb's top-level fields as the official SDK's request types declare them (required, then optional).
    /// Anything else is refused, as are missing or empty required values and locations that do not name their component fully.
    /// </summary>
    private static readonly Dictionary<string, (string[] Required, string[] Optional)> Contract = new(StringComparer.Ordinal)
    {
        ["put_object"] = (["bucketLocation", "content", "contentType", "key"], []),
        ["delete_object"] = (["bucketLocation", "key"], []),
        ["document_status"] = (["bucketLocation", "objectId"], ["partition"]),
        ["chunk_search"] = (["bucketLocations", "input", "requestId"], ["partition"]),
        ["search"] = (["bucketLocations", "input", "requestId"], ["partition"]),
        ["search_get_page"] = (["page", "pageSize", "requestId"], ["partition"]),
        ["document_query"] = (["bucketLocation", "input", "objectId", "requestId"], ["partition"]),
        ["start_session"] = (["smartMemoryLocation"], []),
        ["end_session"] = (["smartMemoryLocation", "sessionId"], ["flush", "systemPrompt"]),
        ["put_memory"] = (["smartMemoryLocation", "sessionId", "content"], ["agent", "key", "timeline"]),
        ["delete_memory"] = (["smartMemoryLocation", "sessionId", "memoryId"], []),
        ["search_memory"] = (["smartMemoryLocation", "sessionId", "terms"], ["endTime", "nMostRecent", "startTime", "timeline"]),
        ["search_episodic_memory"] = (["smartMemoryLocation", "terms"], ["endTime", "nMostRecent", "startTime"]),
        ["put_semantic_memory"] = (["smartMemoryLocation", "document"], []),
        ["delete_semantic_memory"] = (["smartMemoryLocation", "objectId"], []),
        ["search_semantic_memory"] = (["smartMemoryLocation", "needle"], []),
        ["put_procedure"] = (["smartMemoryLocation", "key", "value"], ["proceduralMemoryId"]),
        ["delete_procedure"] = (["smartMemoryLocation", "key"], ["proceduralMemoryId"]),
        ["search_procedures"] = (["smartMemoryLocation", "terms"], ["nMostRecent", "proceduralMemoryId", "searchKeys", "searchValues"]),
        ["execute_query"] = (["smartSqlLocation"], ["sqlQuery", "textQuery", "format"]),
    };

    private static string? Violation(string verb, JsonObject body)
    {
        if (!Contract.TryGetValue(verb, out var fields)) return $"unknown method {verb}";
        foreach (var (name, _) in body)
            if (!fields.Required.Contains(name) && !fields.Optional.Contains(name)) return $"unknown field '{name}'";
        foreach (var name in fields.Required)
            if (body[name] is null || (body[name] is JsonValue v && v.TryGetValue<string>(out var text) && text.Length == 0)) return $"'{name}' is required";
        if (body["bucketLocation"] is { } one && Component(one, "bucket", versioned: true) is { } bad) return $"bucketLocation: {bad}";
        if (body["bucketLocations"] is { } many)
        {
            if (many is not JsonArray { Count: > 0 } locations) return "bucketLocations: at least one bucket";
            foreach (var location in locations)
                if (Component(location, "bucket", versioned: true) is { } wrong) return $"bucketLocations: {wrong}";
        }
        if (body["smartMemoryLocation"] is { } memory && Component(memory, "smartMemory", versioned: true) is { } badMemory) return $"smartMemoryLocation: {badMemory}";
        if (body["smartSqlLocation"] is { } sql && Component(sql, "smartSql", versioned: false) is { } badSql) return $"smartSqlLocation: {badSql}";
        return null;
    }

    /// <summary>A location: <c>{ kind: { name, applicationName, version } }</c>; buckets and memories need all three (the version id included).</summary>
    private static string? Component(JsonNode? location, string kind, bool versioned)
    {
        if (location is not JsonObject outer || outer.Count != 1 || outer[kind] is not JsonObject inner) return $"must be {{ \"{kind}\": {{ ... }} }}";
        foreach (var (name, _) in inner)
            if (name is not ("name" or "applicationName" or "version")) return $"unknown field '{kind}.{name}'";
        foreach (var name in versioned ? new[] { "name", "applicationName", "version" } : ["name"])
            if (Str(inner[name]) is not { Length: > 0 }) return $"'{kind}.{name}' is required and may not be empty";
        return null;
    }

    private JsonObject? Answer(string verb, JsonObject body)
    {
        var key = Str(body["key"]);
        switch (verb)
        {
            case "put_object" when key is not null && (body["bucketLocation"]?["bucket"]?["name"] is not null) && Str(body["content"]) is { } content:
                var contentType = Str(body["contentType"]) ?? "application/octet-stream";
                _objects[key] = (Convert.FromBase64String(content), contentType);
                if (HoldIndexing) _indexing.Add(key);
                else _indexing.Remove(key);
                return new JsonObject { ["bucket"] = new JsonObject { ["bucketName"] = Str(body["bucketLocation"]!["bucket"]!["name"]) }, ["key"] = key };
            case "delete_object" when key is not null:
                _objects.TryRemove(key, out _);
                _indexing.Remove(key);
                return [];
            case "chunk_search" when Str(body["input"]) is { } input:
                return new JsonObject { ["results"] = new JsonArray([.. Search(input).Take(20)]) };
            case "search" when Str(body["input"]) is { } input && Str(body["requestId"]) is { } requestId:
                _searches[requestId] = [.. Search(input)];
                return SearchPage(requestId, 1, SearchPageSize);
            case "search_get_page" when Str(body["requestId"]) is { } requestId && _searches.ContainsKey(requestId)
                                        && body["page"] is JsonValue p && p.TryGetValue<int>(out var page) && page >= 1
                                        && body["pageSize"] is JsonValue ps && ps.TryGetValue<int>(out var pageSize) && pageSize is >= 1 and <= 100:
                return SearchPage(requestId, page, pageSize);
            case "document_status" when Str(body["objectId"]) is { } objectId:
                return _objects.ContainsKey(objectId)
                    ? new JsonObject { ["status"] = _indexing.Contains(objectId) ? "processing" : "completed", ["errors"] = new JsonArray() }
                    : null;
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

    private readonly HashSet<string> _indexing = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<JsonNode>> _searches = new(StringComparer.Ordinal);

    /// <summary>While true, objects put stay <c>processing</c> (not searchable, as while Raindrop indexes them) until <see cref="FinishIndexing"/>.</summary>
    public bool HoldIndexing { get; set; }

    /// <summary>Every object still processing is indexed now.</summary>
    public void FinishIndexing()
    {
        lock (_gate) _indexing.Clear();
    }

    /// <summary>Results per page of <c>search</c> (the first page; later pages take the size asked).</summary>
    public int SearchPageSize { get; set; } = 10;

    private JsonObject SearchPage(string requestId, int page, int pageSize)
    {
        var all = _searches[requestId];
        var results = all.Skip((page - 1) * pageSize).Take(pageSize).Select(r => r.DeepClone()).ToArray();
        var totalPages = (all.Count + pageSize - 1) / pageSize;
        return new JsonObject
        {
            ["results"] = new JsonArray(results),
            ["pagination"] = new JsonObject { ["page"] = page, ["pageSize"] = pageSize, ["total"] = all.Count, ["totalPages"] = totalPages, ["hasMore"] = page < totalPages },
        };
    }

    /// <summary>Paragraphs of the indexed text objects that share a word with the input, best first (score: shared words / input words).</summary>
    private IEnumerable<JsonNode> Search(string input)
    {
        var words = Words(input);
        return _objects
            .Where(o => IsText(o.Value.ContentType) && !_indexing.Contains(o.Key))
            .SelectMany(o => Encoding.UTF8.GetString(o.Value.Content).Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(text => (Key: o.Key, Text: text, Score: words.Count == 0 ? 0 : Words(text).Intersect(words).Count() / (double)words.Count)))
            .Where(p => p.Score > 0)
            .OrderByDescending(p => p.Score)
            .Take(200)
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
