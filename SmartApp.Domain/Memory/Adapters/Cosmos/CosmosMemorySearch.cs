using System.Diagnostics;
using System.Net;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Raindrop;
using SmartApp.Domain.Common.Search;
using SmartApp.Domain.Common.Storage;
using SmartApp.Domain.Common.Telemetry;

namespace SmartApp.Domain.Memory.Adapters.Cosmos;

/// <summary>
/// Hybrid search (keywords and meaning, fused by reciprocal rank) over one user's memories by the configured
/// engine (<see cref="SearchEngines"/>); the results are then read back by id, so a deleted or changed memory is
/// never returned as it was.
/// </summary>
public sealed class CosmosMemorySearch : IMemorySearch, IDisposable
{
    /// <summary>What a search reads of a memory: enough to filter and rank it (not its vector).</summary>
    private const string Fields = "c.id, c.type, c.kind, c.sessionId, c.timeline, c.at, c.content, c.deleted, c.expiresAt";

    private readonly CosmosStore _store;
    private readonly StoredDataMigration _migration;
    private readonly IEmbedder _embedder;
    private readonly IOwnerSearch<IndexRow> _index;

    private readonly TimeProvider _clock;

    public CosmosMemorySearch(CosmosStore store, StoredDataMigration migration, SearchEngines engines, IEmbedder embedder, IOptions<MemoryOptions> options, TimeProvider clock,
        ILogger<CosmosMemorySearch> logger)
    {
        (_store, _migration, _embedder, _clock) = (store, migration, embedder, clock);
        _index = engines.For<IndexRow>(CosmosContainers.Memories, Fields, options.Value.SearchIndexLimits, logger);
    }

    public async Task<IReadOnlyList<MemorySearchHit>> SearchAsync(string userId, MemorySearchQuery query, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var queryEmbedding = _embedder.EmbedAsync([query.Terms], cancellationToken);
        await _migration.EnsureMovedAsync(CosmosContainers.Memories, userId, cancellationToken).ConfigureAwait(false);
        var ranked = await _index.SearchAsync(userId, query.Terms, (await queryEmbedding.ConfigureAwait(false))[0], query.Limit,
            Filter(query, _clock.GetUtcNow()), cancellationToken).ConfigureAwait(false);

        var current = await ReadCurrentAsync(userId, ranked.Select(r => r.Row.Id).ToList(), cancellationToken).ConfigureAwait(false);
        if (current.Count < ranked.Count) _index.MarkStale(userId); // removed outside the change feed's view (e.g. account deletion)
        var hits = ranked.Where(r => current.ContainsKey(r.Row.Id)).Select(r => new MemorySearchHit(current[r.Row.Id].ToEntry(), r.Rank.Score)).ToList();
        SmartAppTelemetry.MemorySearchDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, new KeyValuePair<string, object?>("provider", Providers.Azure));
        return hits;
    }

    /// <summary>
    /// The query's kinds, session, timeline and time range, as a predicate and as the same SQL. Expired memories are left out
    /// by the predicate and by the read-back (Cosmos DB's TTL hides them from the SQL), so the SQL stays the same from one search to the next.
    /// </summary>
    private static SearchFilter<IndexRow> Filter(MemorySearchQuery query, DateTimeOffset now)
    {
        var where = new List<string> { "c.type = 'memory'", "NOT IS_DEFINED(c.deleted)", "ARRAY_CONTAINS(@kinds, c.kind)" };
        var parameters = new List<(string, object?)> { ("@kinds", query.Kinds.ToArray()) };
        void Add(string condition, string name, object? value)
        {
            if (value is null) return;
            where.Add(condition);
            parameters.Add((name, value));
        }
        Add("c.sessionId = @session", "@session", query.SessionId);
        Add("c.timeline = @timeline", "@timeline", query.Timeline);
        Add("(c.kind != 'working' OR NOT IS_DEFINED(c.timeline) OR c.timeline != @exceptTimeline)", "@exceptTimeline", query.ExceptTimeline);
        Add("c.at >= @from", "@from", query.From?.ToUniversalTime());
        Add("c.at < @to", "@to", query.To?.ToUniversalTime());
        return new(row => row.Searchable && !(row.ExpiresAt <= now) && query.Matches(row.Kind ?? MemoryKind.Working, row.SessionId, row.Timeline, row.At), string.Join(" AND ", where), parameters);
    }

    /// <summary>The current version of each result (point reads, side by side); a result deleted meanwhile is missing.</summary>
    private async Task<Dictionary<string, MemoryDocument>> ReadCurrentAsync(string userId, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0) return [];
        var container = await _store.GetContainerAsync(CosmosContainers.Memories, cancellationToken).ConfigureAwait(false);
        var reads = await Task.WhenAll(ids.Select(id => container.ReadOrNullAsync<MemoryDocument>(id, CosmosContainers.Memories.ShardedKey(userId, id), cancellationToken))).ConfigureAwait(false);
        var now = _clock.GetUtcNow();
        return reads.Select(r => r?.Resource).Where(r => r is { Type: MemoryDocument.MemoryType, Deleted: not true } && !(r.ExpiresAt <= now)).ToDictionary(r => r!.Id, r => r!, StringComparer.Ordinal);
    }

    public void Dispose() => (_index as IDisposable)?.Dispose();

    /// <summary>What the index reads of a memory: enough to filter and rank it.</summary>
    internal sealed record IndexRow(string Id, string? Type, MemoryKind? Kind, string? SessionId, string? Timeline, DateTimeOffset? At, string? Content, float[]? Vector, bool? Deleted, DateTimeOffset? ExpiresAt = null) : ISearchRow
    {
        public string? Text => Content;
        public bool Searchable => Type == MemoryDocument.MemoryType && Deleted != true;
    }
}
