using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Raindrop;

namespace SmartApp.Domain.Memory.Adapters.Raindrop;

/// <summary>
/// SmartMemory: working-memory sessions, semantic documents, procedures (a procedural memory per
/// user) and the searches over them. Every request names the SmartMemory (<c>smartMemoryLocation</c>).
/// </summary>
public sealed class RaindropSmartMemory(IHttpClientFactory httpClients, IOptions<RaindropOptions> options) : RaindropClient(httpClients, Area)
{
    public const string Area = "memory";

    public async Task<string> StartSessionAsync(CancellationToken cancellationToken) =>
        Required((await PostAsync<StartSessionResponse>("start_session", new { smartMemoryLocation = Location() }, cancellationToken).ConfigureAwait(false)).SessionId, "start_session");

    public async Task<string> PutMemoryAsync(string sessionId, string content, string? timeline, string? key, string? agent, CancellationToken cancellationToken) =>
        Required((await PostAsync<PutMemoryResponse>("put_memory",
            new { smartMemoryLocation = Location(), sessionId, content, timeline, key, agent }, cancellationToken).ConfigureAwait(false)).MemoryId, "put_memory");

    public Task DeleteMemoryAsync(string sessionId, string memoryId, CancellationToken cancellationToken) =>
        PostAsync<Done>("delete_memory", new { smartMemoryLocation = Location(), sessionId, memoryId }, cancellationToken);

    /// <summary>Ends the session; with <paramref name="flush"/> Raindrop writes its summary to episodic memory.</summary>
    public Task EndSessionAsync(string sessionId, bool flush, CancellationToken cancellationToken) =>
        PostAsync<Done>("end_session", new { smartMemoryLocation = Location(), sessionId, flush }, cancellationToken);

    public async Task<IReadOnlyList<RaindropMemory>> SearchMemoryAsync(string sessionId, string terms, string? timeline, int nMostRecent, CancellationToken cancellationToken) =>
        (await PostAsync<MemoriesResponse>("search_memory",
            new { smartMemoryLocation = Location(), sessionId, terms, timeline, nMostRecent }, cancellationToken).ConfigureAwait(false)).Memories ?? [];

    public async Task<IReadOnlyList<EpisodicEntry>> SearchEpisodicAsync(string terms, int nMostRecent, CancellationToken cancellationToken) =>
        (await PostAsync<EpisodicResponse>("search_episodic_memory", new { smartMemoryLocation = Location(), terms, nMostRecent }, cancellationToken).ConfigureAwait(false)).Entries ?? [];

    /// <summary>Stores a JSON document; Raindrop answers the id it keeps it under.</summary>
    public async Task<string> PutSemanticAsync(string documentJson, CancellationToken cancellationToken)
    {
        var answer = await PostAsync<SemanticResponse>("put_semantic_memory", new { smartMemoryLocation = Location(), document = documentJson }, cancellationToken).ConfigureAwait(false);
        return answer.Success && !string.IsNullOrEmpty(answer.ObjectId) ? answer.ObjectId : throw new RaindropException("put_semantic_memory", answer.Error ?? "not stored", 422);
    }

    public Task DeleteSemanticAsync(string objectId, CancellationToken cancellationToken) =>
        PostAsync<SemanticResponse>("delete_semantic_memory", new { smartMemoryLocation = Location(), objectId }, cancellationToken);

    public async Task<IReadOnlyList<SemanticResult>> SearchSemanticAsync(string needle, CancellationToken cancellationToken)
    {
        var answer = await PostAsync<SemanticSearchResponse>("search_semantic_memory", new { smartMemoryLocation = Location(), needle }, cancellationToken).ConfigureAwait(false);
        return answer.Success ? answer.DocumentSearchResponse?.Results ?? [] : throw new RaindropException("search_semantic_memory", answer.Error ?? "search failed", 500);
    }

    public Task PutProcedureAsync(string proceduralMemoryId, string key, string value, CancellationToken cancellationToken) =>
        PostAsync<Done>("put_procedure", new { smartMemoryLocation = Location(), proceduralMemoryId, key, value }, cancellationToken);

    public Task DeleteProcedureAsync(string proceduralMemoryId, string key, CancellationToken cancellationToken) =>
        PostAsync<Done>("delete_procedure", new { smartMemoryLocation = Location(), proceduralMemoryId, key }, cancellationToken);

    public async Task<IReadOnlyList<Procedure>> SearchProceduresAsync(string proceduralMemoryId, string terms, int nMostRecent, CancellationToken cancellationToken) =>
        (await PostAsync<ProceduresResponse>("search_procedures",
            new { smartMemoryLocation = Location(), proceduralMemoryId, terms, nMostRecent, searchKeys = true, searchValues = true }, cancellationToken).ConfigureAwait(false)).Procedures ?? [];

    /// <summary>Each user's procedures live in a procedural memory of their own, so one user's never match another's search.</summary>
    public static string ProceduralMemoryOf(string userId) => "user-" + userId;

    private object Location() => new { smartMemory = new { name = options.Value.MemoryName, applicationName = options.Value.ApplicationName, version = NullIfEmpty(options.Value.Version) } };

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    private static string Required(string? id, string verb) => string.IsNullOrEmpty(id) ? throw new RaindropException(verb, "answer has no id", 502) : id;

    private sealed record StartSessionResponse(string? SessionId);

    private sealed record PutMemoryResponse(string? MemoryId);

    private sealed record Done(bool? Success);

    private sealed record MemoriesResponse(List<RaindropMemory>? Memories);

    private sealed record EpisodicResponse(List<EpisodicEntry>? Entries);

    private sealed record SemanticResponse(bool Success, string? ObjectId, string? Error);

    private sealed record SemanticSearchResponse(bool Success, string? Error, SemanticResults? DocumentSearchResponse);

    private sealed record SemanticResults(List<SemanticResult>? Results);

    private sealed record ProceduresResponse(List<Procedure>? Procedures);
}

/// <summary>A working memory as SmartMemory returns it.</summary>
public sealed record RaindropMemory(string? Id, string? Content, string? SessionId, string? Timeline, string? Key, string? Agent, DateTimeOffset? At);

/// <summary>A session summary in episodic memory.</summary>
public sealed record EpisodicEntry(string? SessionId, string? Summary, double? Score);

/// <summary>A passage of a semantic document; <see cref="Source"/> names the document.</summary>
public sealed record SemanticResult(string? Text, string? Source, double? Score);

public sealed record Procedure(string? Key, string? Value);
