using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Raindrop;
using SmartApp.Domain.Identity;
using SmartApp.Domain.Memory;
using SmartApp.Functions.Http;

namespace SmartApp.Functions.Memory;

/// <summary>The four kinds of memory (the OpenAPI document's "Memory" tag), for the signed-in user only.</summary>
public sealed class MemoryFunctions(MemoryService memory, IOptions<MemoryOptions> options)
{
    [Function("MemorySessionStart")]
    public async Task<IActionResult> StartSession([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "memory/sessions")] HttpRequest req)
    {
        var session = await memory.StartSessionAsync(req.CurrentUser(), req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new CreatedResult($"/api/memory/sessions/{session.Id}/memories", new SessionStarted(session.Id, session.StartedAt));
    }

    /// <summary><c>{ flush?: bool }</c>: with flush, the session's memories become one episodic memory.</summary>
    [Function("MemorySessionEnd")]
    public async Task<IActionResult> EndSession([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "memory/sessions/{sessionId}/end")] HttpRequest req, string sessionId)
    {
        var body = await req.ReadJsonAsync(whenEmpty: new EndSessionRequest(null, null)).ConfigureAwait(false);
        var ended = await memory.EndSessionAsync(req.CurrentUser(), sessionId, body.Flush ?? false, req.HttpContext.RequestAborted, body.Instructions).ConfigureAwait(false);
        return new OkObjectResult(new
        {
            sessionId = ended.Session.Id,
            ended.Session.StartedAt,
            ended.Session.EndedAt,
            episodicMemoryId = ended.Episodic?.Id,
            summarizedBy = ended.Episodic?.SummarizedBy,
            summary = ended.Episodic?.Content,
        });
    }

    [Function("MemoryPut")]
    public async Task<IActionResult> Put([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "memory/sessions/{sessionId}/memories")] HttpRequest req, string sessionId)
    {
        var body = await req.ReadJsonAsync<PutMemoryRequest>().ConfigureAwait(false);
        var id = await memory.PutAsync(req.CurrentUser(), sessionId, body.Content, body.Timeline, body.Key, body.Agent, req.HttpContext.RequestAborted, body.ExpiresAt, body.Metadata)
            .ConfigureAwait(false);
        return new CreatedResult($"/api/memory/sessions/{sessionId}/memories/{id}", new MemoryCreated(id));
    }

    /// <summary>The session's memories, newest first: <c>?timeline&amp;key&amp;last&amp;from&amp;to</c>.</summary>
    [Function("MemoryList")]
    public async Task<IActionResult> List([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "memory/sessions/{sessionId}/memories")] HttpRequest req, string sessionId)
    {
        var query = req.Query;
        var memories = await memory.ListAsync(req.CurrentUser(), sessionId, query["timeline"], query["key"], req.QueryInt("last"),
            TimeRange.Parse(query["from"], query["to"]), req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new MemoryList(memories.Select(MemoryResponse.From).ToList()));
    }

    [Function("MemoryDelete")]
    public async Task<IActionResult> Delete(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "memory/sessions/{sessionId}/memories/{memoryId}")] HttpRequest req, string sessionId, string memoryId)
    {
        await memory.DeleteMemoryAsync(req.CurrentUser(), sessionId, memoryId, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new NoContentResult();
    }

    /// <summary>Ranked results across the kinds asked for, each with its <c>kind</c> and <c>score</c>.</summary>
    [Function("MemorySearch")]
    public async Task<IActionResult> Search([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "memory/search")] HttpRequest req)
    {
        var body = await req.ReadJsonAsync<SearchRequest>().ConfigureAwait(false);
        var hits = await memory.SearchAsync(req.CurrentUser(), body.Terms, body.Kinds, body.SessionId, body.Timeline, body.Limit,
            TimeRange.Parse(body.From, body.To), req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new
        {
            results = hits.Select(h => MemoryResponse.From(h.Memory) with { Score = h.Score, Provider = h.Provider, Space = h.Memory.Space }),
            provider = hits.Any(h => h.Provider == Providers.Raindrop) ? Providers.Raindrop : Providers.Azure,
        });
    }

    [Function("MemoryDocumentPut")]
    public async Task<IActionResult> PutDocument([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "memory/documents")] HttpRequest req)
    {
        var body = await req.ReadJsonAsync<DocumentRequest>(maxBytes: options.Value.MaxDocumentBytes + 1024).ConfigureAwait(false);
        var id = await memory.PutDocumentAsync(req.CurrentUser(), body.Document, req.HttpContext.RequestAborted, body.ExpiresAt, body.Metadata, req.Query[SpaceAccess.Parameter]).ConfigureAwait(false);
        return new CreatedResult($"/api/memory/documents/{id}", new DocumentCreated(id));
    }

    [Function("MemoryDocumentGet")]
    public async Task<IActionResult> GetDocument([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "memory/documents/{documentId}")] HttpRequest req, string documentId)
    {
        var document = await memory.GetDocumentAsync(req.CurrentUser(), documentId, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new DocumentResponse(document.Id, document.Document, document.At) { ExpiresAt = document.ExpiresAt, Metadata = document.Metadata, Space = document.Space });
    }

    [Function("MemoryDocumentDelete")]
    public async Task<IActionResult> DeleteDocument([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "memory/documents/{documentId}")] HttpRequest req, string documentId)
    {
        await memory.DeleteDocumentAsync(req.CurrentUser(), documentId, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new NoContentResult();
    }

    [Function("MemoryProcedureList")]
    public async Task<IActionResult> ListProcedures([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "memory/procedures")] HttpRequest req)
    {
        var procedures = await memory.ListProceduresAsync(req.CurrentUser(), req.HttpContext.RequestAborted, req.Query[SpaceAccess.Parameter]).ConfigureAwait(false);
        return new OkObjectResult(new ProcedureList(procedures.Select(ProcedureResponse.From).ToList()));
    }

    [Function("MemoryProcedurePut")]
    public async Task<IActionResult> PutProcedure([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "memory/procedures/{key}")] HttpRequest req, string key)
    {
        var body = await req.ReadJsonAsync<ProcedureRequest>().ConfigureAwait(false);
        var procedure = await memory.PutProcedureAsync(req.CurrentUser(), key, body.Value, req.HttpContext.RequestAborted, body.ExpiresAt, req.Query[SpaceAccess.Parameter]).ConfigureAwait(false);
        return new OkObjectResult(ProcedureResponse.From(procedure));
    }

    [Function("MemoryProcedureGet")]
    public async Task<IActionResult> GetProcedure([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "memory/procedures/{key}")] HttpRequest req, string key)
    {
        var procedure = await memory.GetProcedureAsync(req.CurrentUser(), key, req.HttpContext.RequestAborted, req.Query[SpaceAccess.Parameter]).ConfigureAwait(false);
        return new OkObjectResult(ProcedureResponse.From(procedure));
    }

    [Function("MemoryProcedureDelete")]
    public async Task<IActionResult> DeleteProcedure([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "memory/procedures/{key}")] HttpRequest req, string key)
    {
        await memory.DeleteProcedureAsync(req.CurrentUser(), key, req.HttpContext.RequestAborted, req.Query[SpaceAccess.Parameter]).ConfigureAwait(false);
        return new NoContentResult();
    }

    // ---- Every memory: list, delete by filter, history, settings, facts, summaries, rehydration -------------------------------

    /// <summary>The user's memories, newest first: <c>?kind&amp;timeline&amp;origin&amp;metadata=name:value&amp;from&amp;to&amp;cursor&amp;limit</c>.</summary>
    [Function("MemoryListAll")]
    public async Task<IActionResult> ListAll([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "memory")] HttpRequest req)
    {
        var query = req.Query;
        var filter = Filter(query["kind"].Where(k => k is not null).Select(k => k!).ToList(), query["timeline"], query["origin"], MetadataOf(query["metadata"]),
            query["from"], query["to"]);
        var page = await memory.ListAllAsync(req.CurrentUser(), filter, query["cursor"], req.QueryInt("limit"), req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new MemoryPageResponse(page.Memories.Select(MemoryResponse.From).ToList(), page.Cursor));
    }

    /// <summary>Deletes the memories that pass the filter (the same filters as the list; at least one).</summary>
    [Function("MemoryDeleteWhere")]
    public async Task<IActionResult> DeleteWhere([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "memory/delete")] HttpRequest req)
    {
        var body = await req.ReadJsonAsync<FilterRequest>().ConfigureAwait(false);
        var (deleted, more) = await memory.DeleteWhereAsync(req.CurrentUser(), Filter(body.Kinds, body.Timeline, body.Origin, body.Metadata, body.From, body.To),
            req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new { deleted, more });
    }

    /// <summary>A memory of any kind, with what it said before each change (oldest first).</summary>
    [Function("MemoryHistory")]
    public async Task<IActionResult> History([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "memory/{memoryId}/history")] HttpRequest req, string memoryId)
    {
        var entry = await memory.GetAnyAsync(req.CurrentUser(), memoryId, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new { memory = MemoryResponse.From(entry), versions = entry.History ?? [] });
    }

    [Function("MemoryDeleteAny")]
    public async Task<IActionResult> DeleteAny([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "memory/{memoryId}")] HttpRequest req, string memoryId)
    {
        await memory.DeleteAnyAsync(req.CurrentUser(), memoryId, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new NoContentResult();
    }

    [Function("MemorySettingsGet")]
    public async Task<IActionResult> GetSettings([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "memory/settings")] HttpRequest req) =>
        new OkObjectResult(await memory.GetSettingsAsync(req.CurrentUser(), req.HttpContext.RequestAborted).ConfigureAwait(false));

    /// <summary><c>{ learning: bool }</c>: whether facts are learned from this user's chat turns.</summary>
    [Function("MemorySettingsPut")]
    public async Task<IActionResult> PutSettings([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "memory/settings")] HttpRequest req)
    {
        var body = await req.ReadJsonAsync<SettingsRequest>().ConfigureAwait(false);
        return new OkObjectResult(await memory.PutSettingsAsync(req.CurrentUser(), body.Learning, req.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    /// <summary>A fact the user states, as "remember that …" does in chat; a fact with the same topic is replaced (its words kept in the history).</summary>
    [Function("MemoryFactPut")]
    public async Task<IActionResult> PutFact([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "memory/facts")] HttpRequest req)
    {
        var body = await req.ReadJsonAsync<FactRequest>().ConfigureAwait(false);
        var fact = await memory.RememberFactAsync(req.CurrentUser(), body.Content, body.Topic, body.ExpiresAt, body.Metadata, null, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new CreatedResult($"/api/memory/{fact.Id}/history", MemoryResponse.From(fact));
    }

    /// <summary><c>{ about }</c>: removes the facts closest in meaning, as "forget …" does in chat; their subjects are not learned again.</summary>
    [Function("MemoryForget")]
    public async Task<IActionResult> Forget([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "memory/forget")] HttpRequest req)
    {
        var body = await req.ReadJsonAsync<ForgetRequest>().ConfigureAwait(false);
        var forgotten = await memory.ForgetAsync(req.CurrentUser(), body.About, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new { forgotten = forgotten.Select(MemoryResponse.From) });
    }

    /// <summary><c>{ memoryIds, instructions? }</c>: a summary of the memories chosen, written as the instructions ask; nothing is stored.</summary>
    [Function("MemorySummarize")]
    public async Task<IActionResult> Summarize([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "memory/summarize")] HttpRequest req)
    {
        var body = await req.ReadJsonAsync<SummarizeRequest>().ConfigureAwait(false);
        var (summary, method) = await memory.SummarizeAsync(req.CurrentUser(), body.MemoryIds, body.Instructions, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new { summary, summarizedBy = method });
    }

    /// <summary><c>{ summaryOnly? }</c>: a new session holding a past session's memories, or its summary.</summary>
    [Function("MemorySessionRehydrate")]
    public async Task<IActionResult> Rehydrate([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "memory/sessions/{sessionId}/rehydrate")] HttpRequest req, string sessionId)
    {
        var body = await req.ReadJsonAsync(whenEmpty: new RehydrateRequest(null)).ConfigureAwait(false);
        var (session, copied) = await memory.RehydrateAsync(req.CurrentUser(), sessionId, body.SummaryOnly ?? false, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new CreatedResult($"/api/memory/sessions/{session.Id}/memories", new { sessionId = session.Id, session.StartedAt, rehydratedFrom = sessionId, copied });
    }

    private static MemoryFilter Filter(IReadOnlyList<string>? kinds, string? timeline, string? origin, IReadOnlyDictionary<string, string>? metadata, string? from, string? to)
    {
        var range = TimeRange.Parse(from, to);
        FactOrigin? parsedOrigin = null;
        if (!string.IsNullOrWhiteSpace(origin))
            parsedOrigin = EnumNames.TryParse<FactOrigin>(origin, out var o) ? o : throw new ValidationFailedException("origin", "'origin' must be learned or stated.");
        return new MemoryFilter(kinds is { Count: > 0 } ? MemoryService.ParseKinds(kinds) : null, string.IsNullOrWhiteSpace(timeline) ? null : timeline,
            metadata is { Count: > 0 } ? metadata : null, range.From, range.To)
        { Origin = parsedOrigin };
    }

    /// <summary><c>metadata=name:value</c>, repeated.</summary>
    private static Dictionary<string, string>? MetadataOf(Microsoft.Extensions.Primitives.StringValues values)
    {
        if (values.Count == 0) return null;
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            var colon = value?.IndexOf(':', StringComparison.Ordinal) ?? -1;
            if (colon <= 0) throw new ValidationFailedException("metadata", "'metadata' must be name:value, such as metadata=project:apollo.");
            metadata[value![..colon]] = value[(colon + 1)..];
        }
        return metadata;
    }

    public sealed record EndSessionRequest(bool? Flush, string? Instructions);

    public sealed record PutMemoryRequest(string? Content, string? Timeline, string? Key, string? Agent, DateTimeOffset? ExpiresAt, Dictionary<string, string>? Metadata);

    public sealed record FilterRequest(IReadOnlyList<string>? Kinds, string? Timeline, string? Origin, Dictionary<string, string>? Metadata, string? From, string? To);

    public sealed record SettingsRequest(bool? Learning);

    public sealed record FactRequest(string? Content, string? Topic, DateTimeOffset? ExpiresAt, Dictionary<string, string>? Metadata);

    public sealed record ForgetRequest(string? About);

    public sealed record SummarizeRequest(IReadOnlyList<string>? MemoryIds, string? Instructions);

    public sealed record RehydrateRequest(bool? SummaryOnly);

    public sealed record MemoryPageResponse(IReadOnlyList<MemoryResponse> Memories, string? Cursor);

    public sealed record SearchRequest(string? Terms, IReadOnlyList<string>? Kinds, string? SessionId, string? Timeline, int? Limit, string? From, string? To);

    public sealed record DocumentRequest(JsonElement Document, DateTimeOffset? ExpiresAt, Dictionary<string, string>? Metadata);

    public sealed record ProcedureRequest(string? Value, DateTimeOffset? ExpiresAt);

    public sealed record ProcedureResponse(string Key, string Value, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
    {
        public DateTimeOffset? ExpiresAt { get; init; }
        public SpaceKind Space { get; init; }

        public static ProcedureResponse From(MemoryEntry p) => new(p.Key!, p.Content, p.At, p.UpdatedAt ?? p.At) { ExpiresAt = p.ExpiresAt, Space = p.Space };
    }

    /// <summary>A memory as the API shows it; fields that do not apply to its kind are left out.</summary>
    public sealed record MemoryResponse(string Id, MemoryKind Kind, string Content, DateTimeOffset At)
    {
        public double? Score { get; init; }

        /// <summary>Search results: which search found it (<c>azure</c> or <c>raindrop</c>).</summary>
        public string? Provider { get; init; }
        public string? SessionId { get; init; }
        public string? Timeline { get; init; }
        public string? Key { get; init; }
        public string? Agent { get; init; }
        public string? DocumentId { get; init; }
        public JsonElement? Document { get; init; }
        public SummaryMethod? SummarizedBy { get; init; }
        public int? EntryCount { get; init; }
        public int? TimelineCount { get; init; }
        public long? DurationMs { get; init; }
        public DateTimeOffset? UpdatedAt { get; init; }
        public DateTimeOffset? ExpiresAt { get; init; }
        public IReadOnlyDictionary<string, string>? Metadata { get; init; }

        /// <summary>Search results: the space the memory is in (<c>personal</c>, or <c>org</c> for an organization's document or procedure).</summary>
        public SpaceKind? Space { get; init; }

        /// <summary>Facts: <c>learned</c> from a conversation or <c>stated</c> by the user, their topic and the message they came from.</summary>
        public FactOrigin? Origin { get; init; }
        public string? Topic { get; init; }
        public MemorySource? Source { get; init; }

        public static MemoryResponse From(MemoryEntry m) => new(m.Id, m.Kind, m.Content, m.At)
        {
            UpdatedAt = m.UpdatedAt, ExpiresAt = m.ExpiresAt, Metadata = m.Metadata, Origin = m.Origin, Topic = m.Topic, Source = m.Source,
            SessionId = m.SessionId, Timeline = m.Timeline, Key = m.Key, Agent = m.Agent,
            DocumentId = m.Kind == MemoryKind.Semantic ? m.Id : null, Document = m.Document,
            SummarizedBy = m.SummarizedBy, EntryCount = m.EntryCount, TimelineCount = m.TimelineCount, DurationMs = m.DurationMs,
        };
    }

    public sealed record SessionStarted(string SessionId, DateTimeOffset StartedAt);

    public sealed record MemoryCreated(string MemoryId);

    public sealed record MemoryList(IReadOnlyList<MemoryResponse> Memories);

    public sealed record DocumentCreated(string DocumentId);

    public sealed record DocumentResponse(string DocumentId, JsonElement? Document, DateTimeOffset CreatedAt)
    {
        public DateTimeOffset? ExpiresAt { get; init; }
        public IReadOnlyDictionary<string, string>? Metadata { get; init; }
        public SpaceKind Space { get; init; }
    }

    public sealed record ProcedureList(IReadOnlyList<ProcedureResponse> Procedures);
}
