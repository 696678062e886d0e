using System.Diagnostics;
using System.Net;
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
/// partition and brought up to date on every search from the partition's change feed (only what
/// changed since the last look); the results are then read back from storage, so a deleted or changed memory is
/// never returned as it was. The index is rebuilt every <see cref="MemoryOptions.SearchIndexMaxAge"/>.
/// </summary>
public sealed partial class CosmosMemorySearch : IMemorySearch, IDisposable
{
    private const string IndexFields = "c.id, c.type, c.kind, c.sessionId, c.timeline, c.at, c.content, c.embedding, c.deleted";

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
                // Mark the change feed's position first: what is written during the load shows up in both (harmlessly).
                var position = await ReadChangesAsync(container, userId, null, [], cancellationToken).ConfigureAwait(false);
                var rows = await container.QueryPartitionAsync<IndexRow>(userId,
                    new QueryDefinition($"SELECT {IndexFields} FROM c WHERE c.type = 'memory' AND NOT IS_DEFINED(c.deleted)"), cancellationToken).ConfigureAwait(false);
                index.Reload(rows, position, now);
                _indexes.Set(userId, index, new MemoryCacheEntryOptions { Size = Math.Max(1, rows.Count), SlidingExpiration = maxAge });
                LogIndexLoaded(_logger, rows.Count);
            }
            else
            {
                // What changed in the user's partition since the last look (the change feed shows each item's latest version).
                var rows = new List<IndexRow>();
                var position = await ReadChangesAsync(container, userId, index.FeedPosition, rows, cancellationToken).ConfigureAwait(false);
                index.Apply(rows, position);
            }
            return index;
        }
        finally
        {
            index.Gate.Release();
        }
    }

    /// <summary>Reads the partition's change feed from <paramref name="position"/> (null: from now) into <paramref name="rows"/>; returns the new position.</summary>
    private static async Task<string?> ReadChangesAsync(Container container, string userId, string? position, List<IndexRow> rows, CancellationToken cancellationToken)
    {
        var start = position is null
            ? ChangeFeedStartFrom.Now(FeedRange.FromPartitionKey(new PartitionKey(userId)))
            : ChangeFeedStartFrom.ContinuationToken(position);
        using var feed = container.GetChangeFeedIterator<IndexRow>(start, ChangeFeedMode.LatestVersion, new ChangeFeedRequestOptions { PageSizeHint = 1000 });
        while (feed.HasMoreResults)
        {
            var page = await feed.ReadNextAsync(cancellationToken).ConfigureAwait(false);
            position = page.ContinuationToken;
            if (page.StatusCode == HttpStatusCode.NotModified) break;
            rows.AddRange(page);
        }
        return position;
    }

    /// <summary>The current version of each result (point reads, side by side); a result deleted meanwhile is missing.</summary>
    private async Task<Dictionary<string, MemoryDocument>> ReadCurrentAsync(string userId, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0) return [];
        var container = await _store.GetContainerAsync(CosmosContainers.Memories, cancellationToken).ConfigureAwait(false);
        var partition = new PartitionKey(userId);
        var reads = await Task.WhenAll(ids.Select(async id =>
        {
            try
            {
                return (await container.ReadItemAsync<MemoryDocument>(id, partition, cancellationToken: cancellationToken).ConfigureAwait(false)).Resource;
            }
            catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }
        })).ConfigureAwait(false);
        return reads.Where(r => r is { Type: MemoryDocument.MemoryType, Deleted: not true }).ToDictionary(r => r!.Id, r => r!, StringComparer.Ordinal);
    }

    public void Dispose() => _indexes.Dispose();

    [LoggerMessage(EventId = 4010, Level = LogLevel.Debug, Message = "Loaded a memory search index of {Count} memories")]
    private static partial void LogIndexLoaded(ILogger logger, int count);

    /// <summary>What the index reads of a memory: enough to filter and rank it.</summary>
    internal sealed record IndexRow(string Id, string? Type, MemoryKind? Kind, string? SessionId, string? Timeline, DateTimeOffset? At, string? Content, string? Embedding, bool? Deleted);

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
        public string? FeedPosition { get; private set; }
        public DateTimeOffset? LoadedAt { get; private set; }
        public volatile bool Stale;

        public void Reload(IReadOnlyList<IndexRow> rows, string? position, DateTimeOffset now)
        {
            _byId.Clear();
            Apply(rows, position);
            LoadedAt = now;
            Stale = false;
        }

        public void Apply(IReadOnlyList<IndexRow> rows, string? position)
        {
            FeedPosition = position;
            var changed = false;
            foreach (var row in rows)
            {
                if (row.Type != MemoryDocument.MemoryType) continue; // sessions
                if (row.Deleted == true || row.Embedding is null)
                {
                    changed |= _byId.Remove(row.Id);
                    continue;
                }
                _byId[row.Id] = new IndexedMemory(row, new SearchCandidate(row.Id, row.Content ?? "", MemoryDocument.DecodeEmbedding(row.Embedding)));
                changed = true;
            }
            if (changed) Items = [.. _byId.Values];
        }
    }
}
