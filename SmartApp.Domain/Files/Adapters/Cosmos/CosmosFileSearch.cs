using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Search;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Files.Adapters.Cosmos;

/// <summary>
/// Hybrid search over one user's file passages (container <c>passages</c>), by the configured engine
/// (<see cref="SearchEngines"/>). A passage is returned only while its file exists: the file records are read
/// for every search, so a file deleted a moment ago never shows, whatever an engine's index still holds.
/// </summary>
public sealed class CosmosFileSearch : IFileSearch, IDisposable
{
    /// <summary>What a search reads of a passage (not its vector).</summary>
    private const string Fields = "c.id, c.userId, c.type, c.fileId, c.index, c.page, c.start, c.end, c.text";

    private readonly IFileStore _files;
    private readonly IEmbedder _embedder;
    private readonly IOwnerSearch<ChunkDocument> _index;

    public CosmosFileSearch(SearchEngines engines, IFileStore files, IEmbedder embedder, IOptions<FilesOptions> options, ILogger<CosmosFileSearch> logger)
    {
        (_files, _embedder) = (files, embedder);
        _index = engines.For<ChunkDocument>(CosmosContainers.Passages, Fields, options.Value.SearchIndexLimits, logger);
    }

    public async Task<IReadOnlyList<FileSearchHit>> SearchAsync(string userId, string query, IReadOnlySet<string>? fileIds, int limit, CancellationToken cancellationToken)
    {
        var queryEmbedding = _embedder.EmbedAsync([query], cancellationToken);
        // More than asked for: passages of a file deleted meanwhile are dropped below, neighbours merged, files spread.
        var ranked = await _index.SearchAsync(userId, query, (await queryEmbedding.ConfigureAwait(false))[0], limit * 2 + 5,
            Passages(fileIds), cancellationToken).ConfigureAwait(false);

        var fileIdsFound = ranked.Select(r => r.Row.FileId).Distinct().ToList();
        var found = await Task.WhenAll(fileIdsFound.Select(id => _files.FindAsync(userId, id, cancellationToken))).ConfigureAwait(false);
        var files = fileIdsFound.Zip(found).ToDictionary(x => x.First, x => x.Second, StringComparer.Ordinal);
        return PassageResults.Arrange(ranked
            .Where(r => files[r.Row.FileId] is { Status: FileStatus.Indexed })
            .Select(r => new FileSearchHit(r.Row.ToChunk(), files[r.Row.FileId]!.Name, r.Rank.Score)), limit);
    }

    private static SearchFilter<ChunkDocument> Passages(IReadOnlySet<string>? fileIds) =>
        fileIds is null
            ? new(chunk => chunk.Searchable, "c.type = 'chunk'", [])
            : new(chunk => chunk.Searchable && fileIds.Contains(chunk.FileId), "c.type = 'chunk' AND ARRAY_CONTAINS(@files, c.fileId)", [("@files", fileIds.ToArray())]);

    public void Dispose() => (_index as IDisposable)?.Dispose();
}
