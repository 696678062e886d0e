using SmartApp.Domain.Common.Search;

namespace SmartApp.Domain.Files.Adapters.Cosmos;

/// <summary>
/// A file's record in container <c>files</c> (<c>type: file</c>, id = file id, partition <c>/userId</c>).
/// A deleted file leaves a tombstone (<c>deleted: true</c>, a TTL) that the change feed shows.
/// </summary>
internal sealed record FileDocument(string Id, string UserId, string Type)
{
    public const string FileType = "file";
    public const int TombstoneTtlSeconds = 24 * 60 * 60;

    public string? Name { get; init; }
    public string? ContentType { get; init; }
    public long Size { get; init; }
    public string? Sha256 { get; init; }
    public FileStatus Status { get; init; }
    public Dictionary<IngestionStage, StageProgress>? Stages { get; init; }
    public List<string>? Errors { get; init; }
    public int ChunkCount { get; init; }
    public int Attempts { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public DateTimeOffset? IndexedAt { get; init; }
    public DateTimeOffset? CompletingUntil { get; init; }
    public DateTimeOffset? UploadUntil { get; init; }
    public string? ClaimedBy { get; init; }
    public int? ContinueAt { get; init; }
    public int? PassagesGranted { get; init; }
    public NotIndexedPart? NotIndexed { get; init; }
    public bool? Deleted { get; init; }
    public int? Ttl { get; init; }

    public static FileDocument From(string userId, StoredFile file) => new(file.Id, userId, FileType)
    {
        Name = file.Name, ContentType = file.ContentType, Size = file.Size, Sha256 = file.Sha256, Status = file.Status,
        Stages = new Dictionary<IngestionStage, StageProgress>(file.Stages), Errors = [.. file.Errors], ChunkCount = file.ChunkCount,
        Attempts = file.Attempts, CreatedAt = file.CreatedAt, UpdatedAt = file.UpdatedAt, IndexedAt = file.IndexedAt, CompletingUntil = file.CompletingUntil, UploadUntil = file.UploadUntil, ClaimedBy = file.ClaimedBy, ContinueAt = file.ContinueAt,
        PassagesGranted = file.PassagesGranted, NotIndexed = file.NotIndexed,
    };

    public static FileDocument Tombstone(string userId, string fileId) =>
        new(fileId, userId, FileType) { Deleted = true, Ttl = TombstoneTtlSeconds };

    public StoredFile ToFile(string? etag) => new(Id, Name ?? "", ContentType ?? "application/octet-stream", Size, CreatedAt)
    {
        Space = Identity.Space.Of(UserId).Kind, Sha256 = Sha256, Status = Status, Stages = Stages ?? [], Errors = Errors ?? [], ChunkCount = ChunkCount, Attempts = Attempts,
        UpdatedAt = UpdatedAt, IndexedAt = IndexedAt, CompletingUntil = CompletingUntil, UploadUntil = UploadUntil, ClaimedBy = ClaimedBy, ContinueAt = ContinueAt, PassagesGranted = PassagesGranted, NotIndexed = NotIndexed, ETag = etag,
    };
}

/// <summary>
/// One passage of a file (<c>type: chunk</c>) in container <c>passages</c> (key <c>/userId</c>, then <c>/fileId</c>),
/// with its embedding; what file search reads. Passages written before that container existed were kept in
/// <c>files</c> with the embedding as base64 (<c>embedding</c>); <see cref="Common.Storage.StoredDataMigration"/> moves them.
/// </summary>
internal sealed record ChunkDocument(string Id, string UserId, string Type, string FileId, int Index, int? Page, int Start, int End, string Text) : ISearchRow
{
    public const string ChunkType = "chunk";

    public float[]? Vector { get; init; }

    public bool Searchable => Type == ChunkType;

    public FileChunk ToChunk() => new(Id, FileId, Index, Page, Start, End, Text);

    public static string IdFor(string fileId, int index) => $"chk_{fileId[(fileId.IndexOf('_') + 1)..]}_{index}";
}
