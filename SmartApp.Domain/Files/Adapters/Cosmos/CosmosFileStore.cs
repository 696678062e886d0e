using System.Net;
using System.Runtime.CompilerServices;
using Microsoft.Azure.Cosmos;
using SmartApp.Domain.Common.Search;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Files.Adapters.Cosmos;

/// <summary>
/// File records in container <c>files</c>, their passages in container <c>passages</c> (one logical partition per file);
/// every call names the user's partition (except the resume sweep). Passages still in <c>files</c> from before the
/// passages container are removed with their file's, until the search data migration has moved them all.
/// </summary>
public sealed class CosmosFileStore(CosmosStore store) : IFileStore
{
    private const int WriteParallelism = 8;
    private static readonly ItemRequestOptions NoContent = new() { EnableContentResponseOnWrite = false };

    public async Task CreateAsync(string userId, StoredFile file, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        await container.CreateItemAsync(FileDocument.From(userId, file), new PartitionKey(userId), NoContent, cancellationToken).ConfigureAwait(false);
    }

    public async Task<StoredFile?> FindAsync(string userId, string fileId, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var response = await container.ReadOrNullAsync<FileDocument>(fileId, userId, cancellationToken).ConfigureAwait(false);
        return response?.Resource is { Type: FileDocument.FileType, Deleted: not true } file ? file.ToFile(response.ETag) : null;
    }

    public async Task<StoredFile?> TryUpdateAsync(string userId, StoredFile file, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var response = await container.ReplaceItemAsync(FileDocument.From(userId, file), file.Id, new PartitionKey(userId),
                new ItemRequestOptions { IfMatchEtag = file.ETag, EnableContentResponseOnWrite = false }, cancellationToken).ConfigureAwait(false);
            return file with { ETag = response.ETag };
        }
        catch (CosmosException ex) when (ex.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<(int Files, long Bytes)> TotalsAsync(string userId, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var sizes = await container.QueryPartitionAsync<long>(userId,
            new QueryDefinition("SELECT VALUE c.size FROM c WHERE c.type = 'file' AND NOT IS_DEFINED(c.deleted)"), cancellationToken).ConfigureAwait(false);
        return (sizes.Count, sizes.Sum());
    }

    public async Task<FilePage> ListAsync(string userId, string? prefix, string? cursor, int limit, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var query = new QueryDefinition(
                $"SELECT * FROM c WHERE c.type = 'file' AND NOT IS_DEFINED(c.deleted){(prefix is null ? "" : " AND STARTSWITH(c.name, @prefix)")} ORDER BY c.createdAt DESC")
            .WithParameter("@prefix", prefix);
        var (documents, next) = await container.QueryPageAsync<FileDocument>(userId, query, cursor, limit, cancellationToken).ConfigureAwait(false);
        return new FilePage(documents.Select(d => d.ToFile(null)).ToList(), next);
    }

    public async Task WriteChunksAsync(string userId, string fileId, IReadOnlyList<(FileChunk Chunk, float[] Embedding)> chunks, CancellationToken cancellationToken)
    {
        await AppendChunksAsync(userId, fileId, chunks, cancellationToken).ConfigureAwait(false);
        await PruneChunksAsync(userId, fileId, chunks.Count, cancellationToken).ConfigureAwait(false);
    }

    public async Task AppendChunksAsync(string userId, string fileId, IReadOnlyList<(FileChunk Chunk, float[] Embedding)> chunks, CancellationToken cancellationToken)
    {
        var container = await PassagesAsync(cancellationToken).ConfigureAwait(false);
        var partition = CosmosContainers.Passages.ItemKey(userId, fileId);
        await Parallel.ForEachAsync(chunks, new ParallelOptions { MaxDegreeOfParallelism = WriteParallelism, CancellationToken = cancellationToken }, async (item, token) =>
        {
            var (chunk, embedding) = item;
            var document = new ChunkDocument(chunk.Id, userId, ChunkDocument.ChunkType, fileId, chunk.Index, chunk.Page, chunk.Start, chunk.End, chunk.Text) { Vector = embedding };
            await container.UpsertItemAsync(document, partition, NoContent, token).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    public async Task PruneChunksAsync(string userId, string fileId, int count, CancellationToken cancellationToken)
    {
        var keep = Enumerable.Range(0, count).Select(i => ChunkDocument.IdFor(fileId, i)).ToHashSet(StringComparer.Ordinal);
        await DeletePassagesAsync(userId, fileId, id => !keep.Contains(id), cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> DeleteAsync(string userId, string fileId, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var partition = new PartitionKey(userId);
        var existing = await FindAsync(userId, fileId, cancellationToken).ConfigureAwait(false);
        if (existing is null) return false;
        try
        {
            // The tombstone first: from here on the file is not found and search drops its chunks.
            await container.ReplaceItemAsync(FileDocument.Tombstone(userId, fileId), fileId, partition,
                new ItemRequestOptions { IfMatchEtag = existing.ETag, EnableContentResponseOnWrite = false }, cancellationToken).ConfigureAwait(false);
        }
        catch (CosmosException ex) when (ex.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound)
        {
            return await DeleteAsync(userId, fileId, cancellationToken).ConfigureAwait(false);
        }
        await DeletePassagesAsync(userId, fileId, _ => true, cancellationToken).ConfigureAwait(false);
        return true;
    }

    public IAsyncEnumerable<(string UserId, string FileId)> FindUnfinishedAsync(DateTimeOffset stuckBefore, CancellationToken cancellationToken) =>
        FindAcrossUsersAsync(new QueryDefinition(
                "SELECT c.id, c.userId FROM c WHERE c.type = 'file' AND NOT IS_DEFINED(c.deleted) AND (c.status = 'queued' OR c.status = 'processing') AND c.updatedAt < @before")
            .WithParameter("@before", stuckBefore.ToUniversalTime()), cancellationToken);

    public IAsyncEnumerable<(string UserId, string FileId)> FindAbandonedUploadsAsync(DateTimeOffset startedBefore, CancellationToken cancellationToken) =>
        FindAcrossUsersAsync(new QueryDefinition(
                "SELECT c.id, c.userId FROM c WHERE c.type = 'file' AND NOT IS_DEFINED(c.deleted) AND c.status = 'uploading' AND c.createdAt < @before")
            .WithParameter("@before", startedBefore.ToUniversalTime()), cancellationToken);

    /// <summary>The sweeps' queries: the only ones that span partitions, and they read ids only.</summary>
    private async IAsyncEnumerable<(string UserId, string FileId)> FindAcrossUsersAsync(QueryDefinition query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        using var iterator = container.GetItemQueryIterator<Owned>(query);
        while (iterator.HasMoreResults)
            foreach (var file in await iterator.ReadNextAsync(cancellationToken).ConfigureAwait(false))
                yield return (file.UserId, file.Id);
    }

    /// <summary>
    /// Deletes the file's passages that <paramref name="delete"/> picks, any left in <c>files</c> first and then those in
    /// the passages container: a migration moving one meanwhile has either not yet removed it from <c>files</c> (then
    /// its removal fails and it takes its copy back) or already made its copy, which the second step then finds.
    /// </summary>
    private async Task DeletePassagesAsync(string userId, string fileId, Func<string, bool> delete, CancellationToken cancellationToken)
    {
        var byFile = new QueryDefinition("SELECT c.id, c.userId FROM c WHERE c.type = 'chunk' AND c.fileId = @file").WithParameter("@file", fileId);
        var files = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var legacy = (await files.QueryPartitionAsync<Owned>(userId, byFile, cancellationToken).ConfigureAwait(false)).Select(c => c.Id).Where(delete);
        await files.DeleteItemsAsync(userId, legacy, cancellationToken).ConfigureAwait(false);

        var passages = await PassagesAsync(cancellationToken).ConfigureAwait(false);
        var partition = CosmosContainers.Passages.ItemKey(userId, fileId);
        var moved = (await passages.QueryPartitionAsync<Owned>(partition, byFile, cancellationToken).ConfigureAwait(false)).Select(c => c.Id).Where(delete);
        await passages.DeleteItemsAsync(partition, moved, cancellationToken).ConfigureAwait(false);
    }

    private ValueTask<Container> ContainerAsync(CancellationToken cancellationToken) => store.GetContainerAsync(CosmosContainers.Files, cancellationToken);

    private ValueTask<Container> PassagesAsync(CancellationToken cancellationToken) => store.GetContainerAsync(CosmosContainers.Passages, cancellationToken);

    private sealed record Owned(string Id, string UserId);
}
