using System.Net;
using System.Runtime.InteropServices;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Common.Search;

/// <summary>What a search index reads of a stored item: its id, its text, its embedding, and whether it is searchable now.</summary>
public interface ISearchRow
{
    string Id { get; }
    string? Text { get; }

    /// <summary>The embedding of <see cref="Text"/>.</summary>
    float[]? Vector { get; }

    /// <summary>False for items that are not searchable (other item types, tombstones, rows without an embedding yet).</summary>
    bool Searchable { get; }
}

public sealed record IndexedRow<TRow>(TRow Row, SearchCandidate Candidate);

/// <summary>A partition's searchable rows at one moment, and the same rows laid out for ranking (row i is corpus entry i).</summary>
public sealed class SearchSnapshot<TRow>(IReadOnlyList<IndexedRow<TRow>> rows)
{
    private readonly Lazy<SearchCorpus> _corpus = new(() => SearchCorpus.Build([.. rows.Select(r => r.Candidate)]));

    public static SearchSnapshot<TRow> Empty { get; } = new([]);

    public IReadOnlyList<IndexedRow<TRow>> Rows { get; } = rows;

    /// <summary>Built on first use after a change, once.</summary>
    public SearchCorpus Corpus => _corpus.Value;
}

/// <summary>How much an instance's search index may hold: in all, for one user, and for how long before a rebuild.</summary>
public sealed record SearchIndexLimits(long MaxBytes, long MaxUserBytes, TimeSpan MaxAge);

/// <summary>
/// Hybrid search over one Cosmos partition (one user) at a time, per instance. A partition is loaded
/// once from its change feed, then brought up to date from it on every search (only what changed),
/// rebuilt after <c>MaxAge</c> or when marked stale; concurrent searches of a partition share one load.
/// What the instance keeps is bounded in bytes (<c>MaxBytes</c>, least recently searched users dropped
/// first), and no user takes more than <c>MaxUserBytes</c> of it: a larger partition is never held, but
/// searched page by page, keeping a few numbers per row, with the same ranking.
/// </summary>
public sealed partial class PartitionSearchIndex<TRow> : IOwnerSearch<TRow>, IDisposable where TRow : class, ISearchRow
{
    /// <summary>Bytes a row costs beyond its text and embedding (objects, dictionary slots, the corpus's postings).</summary>
    private const int RowOverheadBytes = 512;
    private const int StreamPageSize = 500;

    private readonly CosmosStore _store;
    private readonly CosmosContainerSpec _container;
    private readonly SearchIndexLimits _limits;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly MemoryCache _partitions;
    private readonly Lock _creating = new();

    public PartitionSearchIndex(CosmosStore store, CosmosContainerSpec container, SearchIndexLimits limits, TimeProvider clock, ILogger logger)
    {
        (_store, _container, _limits, _clock, _logger) = (store, container, limits, clock, logger);
        _partitions = new MemoryCache(new MemoryCacheOptions { SizeLimit = limits.MaxBytes });
    }

    /// <summary>
    /// The partition's best rows for the query (hybrid: BM25 and cosine fused by reciprocal rank), best first,
    /// among those the filter accepts. The rows are as the index last saw them.
    /// </summary>
    public async Task<IReadOnlyList<(TRow Row, RankedResult Rank)>> SearchAsync(
        string partition, string query, float[] queryEmbedding, int limit, SearchFilter<TRow> filter, CancellationToken cancellationToken)
    {
        var include = filter.Include;
        var index = PartitionOf(partition);
        if (!index.IsOversized(_clock.GetUtcNow(), _limits.MaxAge))
        {
            var snapshot = await SnapshotAsync(partition, index, cancellationToken).ConfigureAwait(false);
            if (snapshot is not null)
            {
                var ranked = HybridRanker.Rank(query, queryEmbedding, snapshot.Corpus, limit, i => include(snapshot.Rows[i].Row));
                return ranked.Select(r => (snapshot.Rows[r.Position].Row, r)).ToList();
            }
        }
        return await StreamAsync(partition, query, queryEmbedding, limit, include, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Rebuilds the partition's index on next use (something was removed that the change feed does not show, such as a hard delete).</summary>
    public void MarkStale(string partition)
    {
        if (_partitions.TryGetValue(partition, out Partition? index)) index!.Stale = true;
    }

    public void Dispose() => _partitions.Dispose();

    /// <summary>The partition's entry; made under a lock, so concurrent first searches share one entry (and one load).</summary>
    private Partition PartitionOf(string partition)
    {
        if (_partitions.TryGetValue(partition, out Partition? known)) return known!;
        lock (_creating)
        {
            return _partitions.GetOrCreate(partition, entry =>
            {
                entry.Size = RowOverheadBytes;
                entry.SlidingExpiration = _limits.MaxAge;
                return new Partition();
            })!;
        }
    }

    /// <summary>The partition's searchable rows, up to date as of this call; null when they are more than one user may hold.</summary>
    private async Task<SearchSnapshot<TRow>?> SnapshotAsync(string partition, Partition index, CancellationToken cancellationToken)
    {
        await index.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var container = await _store.GetContainerAsync(_container, cancellationToken).ConfigureAwait(false);
            var now = _clock.GetUtcNow();
            if (index.IsOversized(now, _limits.MaxAge)) return null;
            if (index.Stale || index.LoadedAt is null || now - index.LoadedAt > _limits.MaxAge)
            {
                // The partition's change feed from the beginning holds the latest version of every item, and ends where the next refresh starts.
                var rows = new List<TRow>();
                var (position, complete) = await ReadChangesAsync(container, partition, null, rows, _limits.MaxUserBytes, cancellationToken).ConfigureAwait(false);
                if (!complete)
                {
                    index.MarkOversized(now);
                    LogOversized(_logger, _container.Name, _limits.MaxUserBytes);
                    return null;
                }
                index.Reload(rows, position, now);
            }
            else
            {
                var rows = new List<TRow>();
                var (position, _) = await ReadChangesAsync(container, partition, index.FeedPosition, rows, long.MaxValue, cancellationToken).ConfigureAwait(false);
                index.Apply(rows, position);
            }
            if (index.Bytes > _limits.MaxUserBytes)
            {
                // Grew past what one user may hold: dropped, and searched page by page until it is rebuilt.
                index.MarkOversized(now);
                _partitions.Remove(partition);
                LogOversized(_logger, _container.Name, _limits.MaxUserBytes);
                return null;
            }
            if (index.CachedBytes != index.Bytes)
            {
                // What the instance holds for this user changed: the cache's account of it (and so its evictions) follows.
                _partitions.Set(partition, index, new MemoryCacheEntryOptions { Size = Math.Max(RowOverheadBytes, index.Bytes), SlidingExpiration = _limits.MaxAge });
                index.CachedBytes = index.Bytes;
            }
            return index.Snapshot;
        }
        finally
        {
            index.Gate.Release();
        }
    }

    /// <summary>
    /// Reads the partition's change feed from <paramref name="position"/> (null: from the beginning) into
    /// <paramref name="rows"/>, stopping once the rows would cost more than <paramref name="maxBytes"/>;
    /// returns the new position and whether the feed was read to its end.
    /// </summary>
    private async Task<(string? Position, bool Complete)> ReadChangesAsync(Container container, string partition, string? position, List<TRow> rows, long maxBytes, CancellationToken cancellationToken)
    {
        var start = position is null
            ? ChangeFeedStartFrom.Beginning(FeedRange.FromPartitionKey(_container.OwnerKey(partition)))
            : ChangeFeedStartFrom.ContinuationToken(position);
        using var feed = container.GetChangeFeedIterator<TRow>(start, ChangeFeedMode.LatestVersion, new ChangeFeedRequestOptions { PageSizeHint = 1000 });
        long bytes = 0;
        while (feed.HasMoreResults)
        {
            var page = await feed.ReadNextAsync(cancellationToken).ConfigureAwait(false);
            position = page.ContinuationToken;
            if (page.StatusCode == HttpStatusCode.NotModified) break;
            foreach (var row in page)
            {
                bytes += BytesOf(row);
                rows.Add(row);
            }
            if (bytes > maxBytes) return (position, false);
        }
        return (position, true);
    }

    /// <summary>
    /// What a row costs held in the index, as measured: its text (UTF-16) and about twice that again for its word
    /// counts and postings; its embedding twice (the row's and the corpus's matrix).
    /// </summary>
    private static long BytesOf(TRow row) => RowOverheadBytes + (row.Text?.Length ?? 0) * 6L + (row.Vector?.Length ?? 0) * sizeof(float) * 2L;

    /// <summary>
    /// Search without holding the partition: its rows are read a page at a time, and of each only its cosine,
    /// its length and its counts of the query's words are kept; BM25 is computed once every row is seen, as the
    /// in-memory ranking does, and the winners are read again by id.
    /// </summary>
    private async Task<IReadOnlyList<(TRow Row, RankedResult Rank)>> StreamAsync(
        string partition, string query, float[] queryEmbedding, int limit, Func<TRow, bool> include, CancellationToken cancellationToken)
    {
        var container = await _store.GetContainerAsync(_container, cancellationToken).ConfigureAwait(false);
        var terms = HybridRanker.Tokenize(query).Distinct().ToList();
        var ids = new List<string>();
        var cosines = new List<double>();
        var lengths = new List<int>();
        var counts = new List<int[]?>();
        using (var pages = container.GetItemQueryIterator<TRow>("SELECT * FROM c",
                   requestOptions: new QueryRequestOptions { PartitionKey = _container.OwnerKey(partition), MaxItemCount = StreamPageSize }))
        {
            while (pages.HasMoreResults)
            {
                foreach (var row in await pages.ReadNextAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (!row.Searchable || row.Vector is not { } embedding || !include(row)) continue;
                    ids.Add(row.Id);
                    cosines.Add(embedding.Length == queryEmbedding.Length ? Vectors.Cosine(queryEmbedding, embedding) : 0);
                    var text = SearchText.From(row.Text ?? "");
                    lengths.Add(text.Length);
                    counts.Add(terms.Any(text.Frequencies.ContainsKey) ? terms.Select(t => text.Frequencies.GetValueOrDefault(t)).ToArray() : null);
                }
            }
        }

        var n = ids.Count;
        var keyword = new double[n];
        if (n > 0)
        {
            var averageLength = Math.Max(1.0, lengths.Average());
            for (var t = 0; t < terms.Count; t++)
            {
                var frequency = counts.Count(c => c is not null && c[t] > 0);
                if (frequency == 0) continue;
                var idf = HybridRanker.Idf(n, frequency);
                for (var i = 0; i < n; i++)
                    if (counts[i] is { } c && c[t] > 0) keyword[i] += HybridRanker.Bm25Term(idf, c[t], lengths[i], averageLength);
            }
        }
        var coverage = counts.Select(c => c is null || terms.Count == 0 ? 0 : (double)c.Count(count => count > 0) / terms.Count).ToArray();
        var ranked = HybridRanker.Fuse(i => ids[i], keyword, [.. cosines], coverage, Enumerable.Repeat(true, n).ToArray(), limit, HybridRanker.DefaultMinimumCosine);
        LogStreamed(_logger, _container.Name, n, ranked.Count);

        if (ranked.Count == 0) return [];
        var found = (await container.QueryPartitionAsync<TRow>(_container.OwnerKey(partition),
                new QueryDefinition("SELECT * FROM c WHERE ARRAY_CONTAINS(@ids, c.id)").WithParameter("@ids", ranked.Select(r => r.Id).ToArray()), cancellationToken).ConfigureAwait(false))
            .Where(row => row.Searchable).ToDictionary(row => row.Id, StringComparer.Ordinal);
        return ranked.Where(r => found.ContainsKey(r.Id)).Select(r => (found[r.Id], r)).ToList();
    }

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "A partition of {Container} holds more than {MaxUserBytes} bytes of search rows; it is searched page by page")]
    private static partial void LogOversized(ILogger logger, string container, long maxUserBytes);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Debug, Message = "Searched {Rows} rows of {Container} page by page; {Found} found")]
    private static partial void LogStreamed(ILogger logger, string container, int rows, int found);

    /// <summary>One partition's rows. Changed under <see cref="Gate"/>; <see cref="Snapshot"/> is immutable.</summary>
    private sealed class Partition
    {
        private readonly Dictionary<string, IndexedRow<TRow>> _byId = new(StringComparer.Ordinal);
        private DateTimeOffset? _oversizedAt;

        public SemaphoreSlim Gate { get; } = new(1, 1);
        public SearchSnapshot<TRow> Snapshot { get; private set; } = SearchSnapshot<TRow>.Empty;
        public string? FeedPosition { get; private set; }
        public DateTimeOffset? LoadedAt { get; private set; }
        public long Bytes { get; private set; }

        /// <summary>The size the cache holds this entry at.</summary>
        public long CachedBytes { get; set; } = RowOverheadBytes;

        public volatile bool Stale;

        /// <summary>Too large to hold, as found at most <paramref name="maxAge"/> ago (then it is measured again).</summary>
        public bool IsOversized(DateTimeOffset now, TimeSpan maxAge) => _oversizedAt is { } at && now - at < maxAge;

        public void MarkOversized(DateTimeOffset now)
        {
            _oversizedAt = now;
            _byId.Clear();
            Snapshot = SearchSnapshot<TRow>.Empty;
            Bytes = 0;
            LoadedAt = null;
        }

        public void Reload(IReadOnlyList<TRow> rows, string? position, DateTimeOffset now)
        {
            _byId.Clear();
            Bytes = 0;
            _oversizedAt = null;
            Apply(rows, position);
            LoadedAt = now;
            Stale = false;
        }

        public void Apply(IReadOnlyList<TRow> rows, string? position)
        {
            FeedPosition = position;
            var changed = false;
            foreach (var row in rows)
            {
                if (_byId.Remove(row.Id, out var previous))
                {
                    Bytes -= BytesOf(previous.Row);
                    changed = true;
                }
                if (!row.Searchable || row.Vector is not { } vector) continue;
                _byId[row.Id] = new IndexedRow<TRow>(row, new SearchCandidate(row.Id, row.Text ?? "", vector));
                Bytes += BytesOf(row);
                changed = true;
            }
            if (changed) Snapshot = new SearchSnapshot<TRow>([.. _byId.Values]);
        }
    }
}

/// <summary>Embeddings as stored: 32-bit floats, little-endian, base64 (half the size of a JSON array of numbers).</summary>
public static class EmbeddingCodec
{
    public static string Encode(float[] embedding) => Convert.ToBase64String(MemoryMarshal.AsBytes(embedding.AsSpan()));

    public static float[] Decode(string? base64) =>
        base64 is null ? [] : MemoryMarshal.Cast<byte, float>(Convert.FromBase64String(base64)).ToArray();
}
