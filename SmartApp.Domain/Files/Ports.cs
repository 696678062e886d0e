namespace SmartApp.Domain.Files;

/// <summary>File metadata, status and chunks (Cosmos, container <c>files</c>, partition <c>/userId</c>).</summary>
public interface IFileStore
{
    Task CreateAsync(string userId, StoredFile file, CancellationToken cancellationToken);

    /// <summary>The file, or null when it does not exist or is being deleted.</summary>
    Task<StoredFile?> FindAsync(string userId, string fileId, CancellationToken cancellationToken);

    /// <summary>Replaces the record if it still has <see cref="StoredFile.ETag"/>: the record as stored (with its new ETag), or null when it changed meanwhile or is gone.</summary>
    Task<StoredFile?> TryUpdateAsync(string userId, StoredFile file, CancellationToken cancellationToken);

    /// <summary>How many files the user keeps, and their bytes.</summary>
    Task<(int Files, long Bytes)> TotalsAsync(string userId, CancellationToken cancellationToken);

    Task<FilePage> ListAsync(string userId, string? prefix, string? cursor, int limit, CancellationToken cancellationToken);

    /// <summary>Writes the file's chunks with their embeddings (replacing any of a previous attempt).</summary>
    Task WriteChunksAsync(string userId, string fileId, IReadOnlyList<(FileChunk Chunk, float[] Embedding)> chunks, CancellationToken cancellationToken);

    /// <summary>Writes some of the file's chunks (an ingestion's progress: nothing else of the file is touched).</summary>
    Task AppendChunksAsync(string userId, string fileId, IReadOnlyList<(FileChunk Chunk, float[] Embedding)> chunks, CancellationToken cancellationToken);

    /// <summary>Removes the file's chunks other than the first <paramref name="count"/> (left by an earlier attempt).</summary>
    Task PruneChunksAsync(string userId, string fileId, int count, CancellationToken cancellationToken);

    /// <summary>Marks the file deleted (from then on it is not found and its chunks are not returned), then removes its chunks.</summary>
    Task<bool> DeleteAsync(string userId, string fileId, CancellationToken cancellationToken);

    /// <summary>Direct uploads of any user started before <paramref name="startedBefore"/> and never completed.</summary>
    IAsyncEnumerable<(string UserId, string FileId)> FindAbandonedUploadsAsync(DateTimeOffset startedBefore, CancellationToken cancellationToken);

    /// <summary>Files of any user whose ingestion is queued or has not moved since <paramref name="stuckBefore"/> (to resume after a restart).</summary>
    IAsyncEnumerable<(string UserId, string FileId)> FindUnfinishedAsync(DateTimeOffset stuckBefore, CancellationToken cancellationToken);
}

/// <summary>
/// File bytes (Blob Storage): the file at <c>users/{userId}/{fileId}</c>, which only the app writes, and
/// a direct upload's staging blob, which only that upload's URL writes, in a container of the user's own.
/// </summary>
public interface IFileContentStore
{
    /// <summary>Streams <paramref name="content"/> into the blob, measuring size and SHA-256 as it goes; over <paramref name="maxBytes"/> stops at once (413).</summary>
    Task<UploadedContent> UploadAsync(string userId, string fileId, Stream content, string contentType, long maxBytes, CancellationToken cancellationToken);

    /// <summary>What a direct upload has committed to its staging blob (length and version), or null when nothing.</summary>
    Task<StagedContent?> FindStagedAsync(string userId, string fileId, CancellationToken cancellationToken);

    /// <summary>
    /// Copies that version of the staging blob to the file's own blob, measuring size and SHA-256 as it
    /// goes (never more than <paramref name="maxBytes"/>); a staging blob rewritten meanwhile fails the copy (409).
    /// </summary>
    Task<UploadedContent> PromoteStagedAsync(string userId, string fileId, StagedContent staged, string contentType, long maxBytes, CancellationToken cancellationToken);

    Task DeleteStagedAsync(string userId, string fileId, CancellationToken cancellationToken);

    /// <summary>Removes every staging blob last written before <paramref name="before"/> (its URL has expired); answers how many.</summary>
    Task<int> SweepStagedAsync(DateTimeOffset before, CancellationToken cancellationToken);

    /// <summary>
    /// Copies the bytes to a local temporary file (deleted when the stream is closed), for readers that need
    /// to seek, reading no more than <paramref name="maxBytes"/> and checking them against <paramref name="expected"/>
    /// (<see cref="StoredContentMismatchException"/> when they differ).
    /// </summary>
    Task<Stream> DownloadToTempAsync(string userId, string fileId, ExpectedContent expected, long maxBytes, CancellationToken cancellationToken);

    /// <summary>Deletes the file's bytes and any staging blob of its upload.</summary>
    Task DeleteAsync(string userId, string fileId, CancellationToken cancellationToken);

    /// <summary>A URL that may create and write this upload's staging blob (blocks and block list) until it expires.</summary>
    Task<SignedUrl> CreateUploadUrlAsync(string userId, string fileId, TimeSpan lifetime, CancellationToken cancellationToken);

    /// <summary>A URL that may read this one blob until it expires, served with the file's name.</summary>
    Task<SignedUrl> CreateDownloadUrlAsync(string userId, string fileId, string fileName, string contentType, TimeSpan lifetime, CancellationToken cancellationToken);
}

/// <summary>What a record says the stored bytes are: their length, and their SHA-256 once it is known.</summary>
public sealed record ExpectedContent(long Size, string? Sha256);

/// <summary>A staging blob as committed: its length and the version that length belongs to.</summary>
public sealed record StagedContent(long Size, string Version);

/// <summary>Stored bytes that are not what the file's record says (length or SHA-256).</summary>
public sealed class StoredContentMismatchException(string message) : Exception(message);

/// <summary>Search over a user's file chunks. Locally hybrid search over Cosmos; a Raindrop SmartBuckets adapter implements the same port.</summary>
public interface IFileSearch
{
    Task<IReadOnlyList<FileSearchHit>> SearchAsync(string userId, string query, IReadOnlySet<string>? fileIds, int limit, CancellationToken cancellationToken);
}

/// <summary>
/// Questions about one file answered by a service that has read it (Raindrop's <c>document_query</c>).
/// Null when there is none or it cannot answer now: the file service then answers from passages with the model.
/// </summary>
public interface IDocumentQuestions
{
    Task<string?> TryAnswerAsync(string userId, string fileId, string question, CancellationToken cancellationToken);
}

/// <summary>No document-question service: every answer is written by the model from passages.</summary>
public sealed class NoDocumentQuestions : IDocumentQuestions
{
    public Task<string?> TryAnswerAsync(string userId, string fileId, string question, CancellationToken cancellationToken) => Task.FromResult<string?>(null);
}

/// <summary>Where files wait for ingestion.</summary>
public interface IIngestionQueue
{
    ValueTask EnqueueAsync(string userId, string fileId, CancellationToken cancellationToken);
}
