using System.Net;
using System.Runtime.InteropServices;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Caching.Memory;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Common.Search;

/// <summary>What a search index reads of a stored item: its id, its text, its embedding, and whether it is searchable now.</summary>
public interface ISearchRow
{
    string Id { get; }
    string? Text { get; }

    /// <summary>The embedding as <see cref="EmbeddingCodec"/> stores it.</summary>
    string? Embedding { get; }

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

/// <summary>
/// In-memory search candidates for one Cosmos partition (one user) at a time, per instance: loaded
/// once from the partition's change feed, then brought up to date from it on every use (only what
/// changed since the last look), rebuilt after <c>maxAge</c> or when marked stale. Bounded across
/// partitions by <c>maxEntries</c> rows; the least recently used partitions are dropped first.
/// </summary>
public sealed class PartitionSearchIndex<TRow> : IDisposable where TRow : class, ISearchRow
{
    private readonly CosmosStore _store;
    private readonly CosmosContainerSpec _container;
    private readonly TimeSpan _maxAge;
    private readonly TimeProvider _clock;
    private readonly MemoryCache _partitions;

    public PartitionSearchIndex(CosmosStore store, CosmosContainerSpec container, int maxEntries, TimeSpan maxAge, TimeProvider clock)
    {
        (_store, _container, _maxAge, _clock) = (store, container, maxAge, clock);
        _partitions = new MemoryCache(new MemoryCacheOptions { SizeLimit = maxEntries });
    }

    /// <summary>The partition's searchable rows, up to date as of this call.</summary>
    public async Task<SearchSnapshot<TRow>> SnapshotAsync(string partition, CancellationToken cancellationToken)
    {
        var index = _partitions.GetOrCreate(partition, entry =>
        {
            entry.Size = 1;
            entry.SlidingExpiration = _maxAge;
            return new Partition();
        })!;
        await index.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var container = await _store.GetContainerAsync(_container, cancellationToken).ConfigureAwait(false);
            var now = _clock.GetUtcNow();
            if (index.Stale || index.LoadedAt is null || now - index.LoadedAt > _maxAge)
            {
                // The partition's change feed from the beginning holds the latest version of every item, and ends where the next refresh starts.
                var rows = new List<TRow>();
                var position = await ReadChangesAsync(container, partition, null, rows, cancellationToken).ConfigureAwait(false);
                index.Reload(rows, position, now);
                _partitions.Set(partition, index, new MemoryCacheEntryOptions { Size = Math.Max(1, index.Snapshot.Rows.Count), SlidingExpiration = _maxAge });
            }
            else
            {
                var rows = new List<TRow>();
                var position = await ReadChangesAsync(container, partition, index.FeedPosition, rows, cancellationToken).ConfigureAwait(false);
                index.Apply(rows, position);
            }
            return index.Snapshot;
        }
        finally
        {
            index.Gate.Release();
        }
    }

    /// <summary>Rebuilds the partition's index on next use (something was removed that the change feed does not show, such as a hard delete).</summary>
    public void MarkStale(string partition)
    {
        if (_partitions.TryGetValue(partition, out Partition? index)) index!.Stale = true;
    }

    public void Dispose() => _partitions.Dispose();

    /// <summary>Reads the partition's change feed from <paramref name="position"/> (null: from the beginning) into <paramref name="rows"/>; returns the new position.</summary>
    private static async Task<string?> ReadChangesAsync(Container container, string partition, string? position, List<TRow> rows, CancellationToken cancellationToken)
    {
        var start = position is null
            ? ChangeFeedStartFrom.Beginning(FeedRange.FromPartitionKey(new PartitionKey(partition)))
            : ChangeFeedStartFrom.ContinuationToken(position);
        using var feed = container.GetChangeFeedIterator<TRow>(start, ChangeFeedMode.LatestVersion, new ChangeFeedRequestOptions { PageSizeHint = 1000 });
        while (feed.HasMoreResults)
        {
            var page = await feed.ReadNextAsync(cancellationToken).ConfigureAwait(false);
            position = page.ContinuationToken;
            if (page.StatusCode == HttpStatusCode.NotModified) break;
            rows.AddRange(page);
        }
        return position;
    }

    /// <summary>One partition's rows. Changed under <see cref="Gate"/>; <see cref="Snapshot"/> is immutable.</summary>
    private sealed class Partition
    {
        private readonly Dictionary<string, IndexedRow<TRow>> _byId = new(StringComparer.Ordinal);

        public SemaphoreSlim Gate { get; } = new(1, 1);
        public SearchSnapshot<TRow> Snapshot { get; private set; } = SearchSnapshot<TRow>.Empty;
        public string? FeedPosition { get; private set; }
        public DateTimeOffset? LoadedAt { get; private set; }
        public volatile bool Stale;

        public void Reload(IReadOnlyList<TRow> rows, string? position, DateTimeOffset now)
        {
            _byId.Clear();
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
                if (!row.Searchable || row.Embedding is null)
                {
                    changed |= _byId.Remove(row.Id);
                    continue;
                }
                _byId[row.Id] = new IndexedRow<TRow>(row, new SearchCandidate(row.Id, row.Text ?? "", EmbeddingCodec.Decode(row.Embedding)));
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
