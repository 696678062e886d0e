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
/// Hybrid search (BM25 + cosine, fused by reciprocal rank) over one user's memories, in process,
/// over a <see cref="PartitionSearchIndex{TRow}"/> of their partition; the results are then read
/// back by id, so a deleted or changed memory is never returned as it was.
/// </summary>
public sealed class CosmosMemorySearch : IMemorySearch, IDisposable
{
    private readonly CosmosStore _store;
    private readonly IEmbedder _embedder;
    private readonly PartitionSearchIndex<IndexRow> _index;

    public CosmosMemorySearch(CosmosStore store, IEmbedder embedder, IOptions<MemoryOptions> options, TimeProvider clock, ILogger<CosmosMemorySearch> logger)
    {
        (_store, _embedder) = (store, embedder);
        _index = new PartitionSearchIndex<IndexRow>(store, CosmosContainers.Memories, options.Value.SearchIndexLimits, clock, logger);
    }

    public async Task<IReadOnlyList<MemorySearchHit>> SearchAsync(string userId, MemorySearchQuery query, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var queryEmbedding = _embedder.EmbedAsync([query.Terms], cancellationToken);
        var ranked = await _index.SearchAsync(userId, query.Terms, (await queryEmbedding.ConfigureAwait(false))[0], query.Limit,
            row => Matches(row, query), cancellationToken).ConfigureAwait(false);

        var current = await ReadCurrentAsync(userId, ranked.Select(r => r.Row.Id).ToList(), cancellationToken).ConfigureAwait(false);
        if (current.Count < ranked.Count) _index.MarkStale(userId); // removed outside the change feed's view (e.g. account deletion)
        var hits = ranked.Where(r => current.ContainsKey(r.Row.Id)).Select(r => new MemorySearchHit(current[r.Row.Id].ToEntry(), r.Rank.Score)).ToList();
        SmartAppTelemetry.MemorySearchDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, new KeyValuePair<string, object?>("provider", Providers.Azure));
        return hits;
    }

    private static bool Matches(IndexRow memory, MemorySearchQuery query) =>
        query.Matches(memory.Kind ?? MemoryKind.Working, memory.SessionId, memory.Timeline, memory.At);

    /// <summary>The current version of each result (point reads, side by side); a result deleted meanwhile is missing.</summary>
    private async Task<Dictionary<string, MemoryDocument>> ReadCurrentAsync(string userId, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0) return [];
        var container = await _store.GetContainerAsync(CosmosContainers.Memories, cancellationToken).ConfigureAwait(false);
        var reads = await Task.WhenAll(ids.Select(id => container.ReadOrNullAsync<MemoryDocument>(id, userId, cancellationToken))).ConfigureAwait(false);
        return reads.Select(r => r?.Resource).Where(r => r is { Type: MemoryDocument.MemoryType, Deleted: not true }).ToDictionary(r => r!.Id, r => r!, StringComparer.Ordinal);
    }

    public void Dispose() => _index.Dispose();

    /// <summary>What the index reads of a memory: enough to filter and rank it.</summary>
    internal sealed record IndexRow(string Id, string? Type, MemoryKind? Kind, string? SessionId, string? Timeline, DateTimeOffset? At, string? Content, string? Embedding, bool? Deleted) : ISearchRow
    {
        public string? Text => Content;
        public bool Searchable => Type == MemoryDocument.MemoryType && Deleted != true;
    }
}
