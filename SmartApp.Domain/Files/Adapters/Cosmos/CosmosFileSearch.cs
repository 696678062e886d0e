using Microsoft.Extensions.Logging;
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

    public CosmosFileSearch(CosmosStore store, IFileStore files, IEmbedder embedder, IOptions<FilesOptions> options, TimeProvider clock, ILogger<CosmosFileSearch> logger)
    {
        (_files, _embedder) = (files, embedder);
        _index = new PartitionSearchIndex<ChunkDocument>(store, CosmosContainers.Files, options.Value.SearchIndexLimits, clock, logger);
    }

    public async Task<IReadOnlyList<FileSearchHit>> SearchAsync(string userId, string query, IReadOnlySet<string>? fileIds, int limit, CancellationToken cancellationToken)
    {
        var queryEmbedding = _embedder.EmbedAsync([query], cancellationToken);
        // A little more than asked for, since chunks of a file deleted meanwhile are dropped below.
        var ranked = await _index.SearchAsync(userId, query, (await queryEmbedding.ConfigureAwait(false))[0], limit + 5,
            fileIds is null ? null : chunk => fileIds.Contains(chunk.FileId), cancellationToken).ConfigureAwait(false);

        var fileIdsFound = ranked.Select(r => r.Row.FileId).Distinct().ToList();
        var found = await Task.WhenAll(fileIdsFound.Select(id => _files.FindAsync(userId, id, cancellationToken))).ConfigureAwait(false);
        var files = fileIdsFound.Zip(found).ToDictionary(x => x.First, x => x.Second, StringComparer.Ordinal);
        return ranked
            .Select(r => (Chunk: r.Row, r.Rank.Score))
            .Where(x => files[x.Chunk.FileId] is { Status: FileStatus.Indexed })
            .Take(limit)
            .Select(x => new FileSearchHit(x.Chunk.ToChunk(), files[x.Chunk.FileId]!.Name, x.Score))
            .ToList();
    }

    public void Dispose() => _index.Dispose();
}
