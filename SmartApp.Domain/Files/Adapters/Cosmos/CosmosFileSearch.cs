using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Search;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Files.Adapters.Cosmos;

/// <summary>
/// Hybrid search over one user's file chunks, in process, over a <see cref="PartitionSearchIndex{TRow}"/>
/// of their partition. A chunk is returned only while its file exists: the file records are read
/// for every search, so a file deleted a moment ago never shows, whatever this instance's index holds.
/// </summary>
public sealed class CosmosFileSearch : IFileSearch, IDisposable
{
    private readonly IFileStore _files;
    private readonly IEmbedder _embedder;
    private readonly PartitionSearchIndex<ChunkDocument> _index;

    public CosmosFileSearch(CosmosStore store, IFileStore files, IEmbedder embedder, IOptions<FilesOptions> options, TimeProvider clock)
    {
        (_files, _embedder) = (files, embedder);
        _index = new PartitionSearchIndex<ChunkDocument>(store, CosmosContainers.Files, "SELECT * FROM c WHERE c.type = 'chunk'",
            options.Value.SearchIndexMaxEntries, options.Value.SearchIndexMaxAge, clock);
    }

    public async Task<IReadOnlyList<FileSearchHit>> SearchAsync(string userId, string query, IReadOnlySet<string>? fileIds, int limit, CancellationToken cancellationToken)
    {
        var queryEmbedding = _embedder.EmbedAsync([query], cancellationToken);
        var rows = await _index.RowsAsync(userId, cancellationToken).ConfigureAwait(false);
        var byId = rows.Where(r => fileIds is null || fileIds.Contains(r.Row.FileId)).ToDictionary(r => r.Row.Id, r => r.Row, StringComparer.Ordinal);
        // A little more than asked for, since chunks of a file deleted meanwhile are dropped below.
        var ranked = HybridRanker.Rank(query, (await queryEmbedding.ConfigureAwait(false))[0],
            rows.Where(r => byId.ContainsKey(r.Row.Id)).Select(r => r.Candidate).ToList(), limit + 5);

        var fileIdsFound = ranked.Select(r => byId[r.Id].FileId).Distinct().ToList();
        var found = await Task.WhenAll(fileIdsFound.Select(id => _files.FindAsync(userId, id, cancellationToken))).ConfigureAwait(false);
        var files = fileIdsFound.Zip(found).ToDictionary(x => x.First, x => x.Second, StringComparer.Ordinal);
        return ranked
            .Select(r => (Chunk: byId[r.Id], r.Score))
            .Where(x => files[x.Chunk.FileId] is { Status: FileStatus.Indexed })
            .Take(limit)
            .Select(x => new FileSearchHit(x.Chunk.ToChunk(), files[x.Chunk.FileId]!.Name, x.Score))
            .ToList();
    }

    public void Dispose() => _index.Dispose();
}
