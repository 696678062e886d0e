using System.Diagnostics;
using System.Text.Json.Serialization;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Search;
using SmartApp.Domain.Common.Storage;
using SmartApp.Domain.Common.Telemetry;

namespace SmartApp.Domain.Memory.Adapters.Cosmos;

/// <summary>
/// Hybrid search (BM25 + cosine, fused by reciprocal rank) over one user's memories, in process.
/// Each user's memories and embeddings are held in an index that is loaded once from their
/// partition and brought up to date on every search by reading only what changed since (by
/// <c>_ts</c>); the results are then read back from storage, so a deleted or changed memory is
/// never returned as it was. The index is rebuilt every <see cref="MemoryOptions.SearchIndexMaxAge"/>.
/// </summary>
public sealed partial class CosmosMemorySearch : IMemorySearch, IDisposable
{
    private const string IndexFields = "c.id, c.kind, c.sessionId, c.timeline, c.at, c.content, c.embedding, c.deleted, c._ts";
    private const string HitFields = "c.id, c.kind, c.content, c.sessionId, c.timeline, c.key, c.agent, c.at, c.updatedAt, c.document, c.summarizedBy, c.entryCount, c.timelineCount, c.durationMs";

    private readonly CosmosStore _store;
    private readonly IEmbedder _embedder;
    private readonly IOptions<MemoryOptions> _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<CosmosMemorySearch> _logger;
    private readonly MemoryCache _indexes;

    public CosmosMemorySearch(CosmosStore store, IEmbedder embedder, IOptions<MemoryOptions> options, TimeProvider clock, ILogger<CosmosMemorySearch> logger)
    {
        (_store, _embedder, _options, _clock, _logger) = (store, embedder, options, clock, logger);
        _indexes = new MemoryCache(new MemoryCacheOptions { SizeLimit = options.Value.SearchIndexMaxEntries });
    }

    public async Task<IReadOnlyList<MemorySearchHit>> SearchAsync(string userId, MemorySearchQuery query, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var queryEmbedding = _embedder.EmbedAsync([query.Terms], cancellationToken);
        var index = await CurrentIndexAsync(userId, cancellationToken).ConfigureAwait(false);
        var candidates = index.Items.Where(m => Matches(m, query)).Select(m => m.Candidate).ToList();
        var ranked = HybridRanker.Rank(query.Terms, (await queryEmbedding.ConfigureAwait(false))[0], candidates, query.Limit);

        var current = await ReadCurrentAsync(userId, ranked.Select(r => r.Id).ToList(), cancellationToken).ConfigureAwait(false);
        if (current.Count < ranked.Count) index.Stale = true; // removed outside this index's view (e.g. account deletion): rebuild next time
        var hits = ranked.Where(r => current.ContainsKey(r.Id)).Select(r => new MemorySearchHit(current[r.Id].ToEntry(), r.Score)).ToList();
        SmartAppTelemetry.MemorySearchDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, new KeyValuePair<string, object?>("backend", "local"));
        return hits;
    }

    private static bool Matches(IndexedMemory memory, MemorySearchQuery query) =>
        query.Kinds.Contains(memory.Kind)
        && (query.SessionId is null || memory.SessionId == query.SessionId)
        && (query.Timeline is null || memory.Timeline == query.Timeline)
        && (query.From is null || memory.At >= query.From)
        && (query.To is null || memory.At < query.To);

    /// <summary>The user's index, loaded or brought up to date.</summary>
    private async Task<UserIndex> CurrentIndexAsync(string userId, CancellationToken cancellationToken)
    {
        var maxAge = _options.Value.SearchIndexMaxAge;
        var index = _indexes.GetOrCreate(userId, entry =>
        {
            entry.Size = 1;
            entry.SlidingExpiration = maxAge;
            return new UserIndex();
        })!;
        await index.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var container = await _store.GetContainerAsync(CosmosContainers.Memories, cancellationToken).ConfigureAwait(false);
            var now = _clock.GetUtcNow();
            if (index.Stale || index.LoadedAt is null || now - index.LoadedAt > maxAge)
            {
                var rows = await container.QueryPartitionAsync<IndexRow>(userId,
                    new QueryDefinition($"SELECT {IndexFields} FROM c WHERE c.type = 'memory' AND NOT IS_DEFINED(c.deleted)"), cancellationToken).ConfigureAwait(false);
                index.Reload(rows, now);
                _indexes.Set(userId, index, new MemoryCacheEntryOptions { Size = Math.Max(1, rows.Count), SlidingExpiration = maxAge });
                LogIndexLoaded(_logger, rows.Count);
            }
            else
            {
                // Everything written since the last look, including the second of the last look (_ts is in seconds).
                var rows = await container.QueryPartitionAsync<IndexRow>(userId,
                    new QueryDefinition($"SELECT {IndexFields} FROM c WHERE c.type = 'memory' AND c._ts >= @since").WithParameter("@since", index.HighWater),
                    cancellationToken).ConfigureAwait(false);
                index.Apply(rows);
            }
            return index;
        }
        finally
        {
            index.Gate.Release();
        }
    }

    private async Task<Dictionary<string, MemoryDocument>> ReadCurrentAsync(string userId, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0) return [];
        var container = await _store.GetContainerAsync(CosmosContainers.Memories, cancellationToken).ConfigureAwait(false);
        var definition = new QueryDefinition($"SELECT {HitFields} FROM c WHERE ARRAY_CONTAINS(@ids, c.id) AND c.type = 'memory' AND NOT IS_DEFINED(c.deleted)")
            .WithParameter("@ids", ids);
        var rows = await container.QueryPartitionAsync<MemoryDocument>(userId, definition, cancellationToken).ConfigureAwait(false);
        return rows.ToDictionary(r => r.Id, StringComparer.Ordinal);
    }

    public void Dispose() => _indexes.Dispose();

    [LoggerMessage(EventId = 4010, Level = LogLevel.Debug, Message = "Loaded a memory search index of {Count} memories")]
    private static partial void LogIndexLoaded(ILogger logger, int count);

    /// <summary>What the index reads of a memory: enough to filter and rank it.</summary>
    internal sealed record IndexRow(string Id, MemoryKind? Kind, string? SessionId, string? Timeline, DateTimeOffset? At, string? Content, string? Embedding, bool? Deleted)
    {
        [JsonPropertyName("_ts")]
        public long Ts { get; init; }
    }

    private sealed record IndexedMemory(IndexRow Row, SearchCandidate Candidate)
    {
        public MemoryKind Kind => Row.Kind ?? MemoryKind.Working;
        public string? SessionId => Row.SessionId;
        public string? Timeline => Row.Timeline;
        public DateTimeOffset At => Row.At ?? default;
    }

    /// <summary>One user's memories as searched. Changed under <see cref="Gate"/>; <see cref="Items"/> is an immutable snapshot.</summary>
    private sealed class UserIndex
    {
        private readonly Dictionary<string, IndexedMemory> _byId = new(StringComparer.Ordinal);

        public SemaphoreSlim Gate { get; } = new(1, 1);
        public IReadOnlyList<IndexedMemory> Items { get; private set; } = [];
        public long HighWater { get; private set; }
        public DateTimeOffset? LoadedAt { get; private set; }
        public volatile bool Stale;

        public void Reload(IReadOnlyList<IndexRow> rows, DateTimeOffset now)
        {
            _byId.Clear();
            HighWater = 0;
            Apply(rows);
            LoadedAt = now;
            Stale = false;
        }

        public void Apply(IReadOnlyList<IndexRow> rows)
        {
            var changed = false;
            foreach (var row in rows)
            {
                HighWater = Math.Max(HighWater, row.Ts);
                _byId.TryGetValue(row.Id, out var known);
                if (row.Deleted == true || row.Embedding is null)
                {
                    changed |= _byId.Remove(row.Id);
                    continue;
                }
                if (known is not null && known.Row.Ts == row.Ts && known.Row.Content == row.Content) continue; // seen already
                _byId[row.Id] = new IndexedMemory(row, new SearchCandidate(row.Id, row.Content ?? "", MemoryDocument.DecodeEmbedding(row.Embedding)));
                changed = true;
            }
            if (changed) Items = [.. _byId.Values];
        }
    }
}
