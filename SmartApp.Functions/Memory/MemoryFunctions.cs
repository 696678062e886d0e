using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Raindrop;
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
        var body = await req.ReadJsonAsync(whenEmpty: new EndSessionRequest(null)).ConfigureAwait(false);
        var ended = await memory.EndSessionAsync(req.CurrentUser(), sessionId, body.Flush ?? false, req.HttpContext.RequestAborted).ConfigureAwait(false);
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
        var id = await memory.PutAsync(req.CurrentUser(), sessionId, body.Content, body.Timeline, body.Key, body.Agent, req.HttpContext.RequestAborted).ConfigureAwait(false);
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
            results = hits.Select(h => MemoryResponse.From(h.Memory) with { Score = h.Score, Provider = h.Provider }),
            provider = hits.Any(h => h.Provider == Providers.Raindrop) ? Providers.Raindrop : Providers.Azure,
        });
    }

    [Function("MemoryDocumentPut")]
    public async Task<IActionResult> PutDocument([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "memory/documents")] HttpRequest req)
    {
        var body = await req.ReadJsonAsync<DocumentRequest>(maxBytes: options.Value.MaxDocumentBytes + 1024).ConfigureAwait(false);
        var id = await memory.PutDocumentAsync(req.CurrentUser(), body.Document, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new CreatedResult($"/api/memory/documents/{id}", new DocumentCreated(id));
    }

    [Function("MemoryDocumentGet")]
    public async Task<IActionResult> GetDocument([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "memory/documents/{documentId}")] HttpRequest req, string documentId)
    {
        var document = await memory.GetDocumentAsync(req.CurrentUser(), documentId, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new DocumentResponse(document.Id, document.Document, document.At));
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
        var procedures = await memory.ListProceduresAsync(req.CurrentUser(), req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new ProcedureList(procedures.Select(ProcedureResponse.From).ToList()));
    }

    [Function("MemoryProcedurePut")]
    public async Task<IActionResult> PutProcedure([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "memory/procedures/{key}")] HttpRequest req, string key)
    {
        var body = await req.ReadJsonAsync<ProcedureRequest>().ConfigureAwait(false);
        var procedure = await memory.PutProcedureAsync(req.CurrentUser(), key, body.Value, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(ProcedureResponse.From(procedure));
    }

    [Function("MemoryProcedureGet")]
    public async Task<IActionResult> GetProcedure([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "memory/procedures/{key}")] HttpRequest req, string key)
    {
        var procedure = await memory.GetProcedureAsync(req.CurrentUser(), key, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(ProcedureResponse.From(procedure));
    }

    [Function("MemoryProcedureDelete")]
    public async Task<IActionResult> DeleteProcedure([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "memory/procedures/{key}")] HttpRequest req, string key)
    {
        await memory.DeleteProcedureAsync(req.CurrentUser(), key, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new NoContentResult();
    }

    public sealed record EndSessionRequest(bool? Flush);

    public sealed record PutMemoryRequest(string? Content, string? Timeline, string? Key, string? Agent);

    public sealed record SearchRequest(string? Terms, IReadOnlyList<string>? Kinds, string? SessionId, string? Timeline, int? Limit, string? From, string? To);

    public sealed record DocumentRequest(JsonElement Document);

    public sealed record ProcedureRequest(string? Value);

    public sealed record ProcedureResponse(string Key, string Value, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
    {
        public static ProcedureResponse From(MemoryEntry p) => new(p.Key!, p.Content, p.At, p.UpdatedAt ?? p.At);
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

        public static MemoryResponse From(MemoryEntry m) => new(m.Id, m.Kind, m.Content, m.At)
        {
            SessionId = m.SessionId, Timeline = m.Timeline, Key = m.Key, Agent = m.Agent,
            DocumentId = m.Kind == MemoryKind.Semantic ? m.Id : null, Document = m.Document,
            SummarizedBy = m.SummarizedBy, EntryCount = m.EntryCount, TimelineCount = m.TimelineCount, DurationMs = m.DurationMs,
        };
    }

    public sealed record SessionStarted(string SessionId, DateTimeOffset StartedAt);

    public sealed record MemoryCreated(string MemoryId);

    public sealed record MemoryList(IReadOnlyList<MemoryResponse> Memories);

    public sealed record DocumentCreated(string DocumentId);

    public sealed record DocumentResponse(string DocumentId, JsonElement? Document, DateTimeOffset CreatedAt);

    public sealed record ProcedureList(IReadOnlyList<ProcedureResponse> Procedures);
}
