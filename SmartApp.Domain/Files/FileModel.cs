using SmartApp.Domain.Common.Raindrop;
using SmartApp.Domain.Identity;
namespace SmartApp.Domain.Files;

/// <summary>Where a file is in its life: bytes arriving, waiting for or in ingestion, searchable, stored only, or failed.</summary>
public enum FileStatus
{
    /// <summary>A direct upload was started; the bytes are not confirmed yet.</summary>
    Uploading,
    Queued,
    Processing,
    Indexed,

    /// <summary>Stored, but of a type that is not read for search.</summary>
    NotIndexed,
    Failed,
}

/// <summary>The stages of ingestion, in order.</summary>
public enum IngestionStage
{
    Extract,
    Chunk,
    Embed,
    Index,
}

public sealed record StageProgress(int Done, int Total);

/// <summary>A file of a user's or an organization's space: its metadata and how its ingestion went.</summary>
public sealed record StoredFile(string Id, string Name, string ContentType, long Size, DateTimeOffset CreatedAt)
{
    /// <summary>Whose space the file is in (from where it is stored; not a stored field).</summary>
    public SpaceKind Space { get; init; }

    public string? Sha256 { get; init; }
    public FileStatus Status { get; init; } = FileStatus.Queued;
    public IReadOnlyDictionary<IngestionStage, StageProgress> Stages { get; init; } = new Dictionary<IngestionStage, StageProgress>();
    public IReadOnlyList<string> Errors { get; init; } = [];
    public int ChunkCount { get; init; }
    public int Attempts { get; init; }
    public DateTimeOffset UpdatedAt { get; init; } = CreatedAt;
    public DateTimeOffset? IndexedAt { get; init; }

    /// <summary>Passages the plan granted this file's ingestion (counted once, kept for a retry after a crash).</summary>
    public int? PassagesGranted { get; init; }

    /// <summary>Passages past the plan's allowance that were not indexed, and why.</summary>
    public NotIndexedPart? NotIndexed { get; init; }

    /// <summary>Passages already embedded and stored: the ingestion continues from here in a follow-up message.</summary>
    public int? ContinueAt { get; init; }

    /// <summary>The queue message whose ingestion claimed the file: a redelivery of that message may take the claim over (its holder failed).</summary>
    public string? ClaimedBy { get; init; }

    /// <summary>A direct upload being completed by one request until then; others wait for it.</summary>
    public DateTimeOffset? CompletingUntil { get; init; }

    /// <summary>A direct upload whose URL was renewed: the last URL is valid until then (the sweep counts from it, not from the start).</summary>
    public DateTimeOffset? UploadUntil { get; init; }

    /// <summary>The store's version of the record, for updates that must not overwrite a concurrent one.</summary>
    public string? ETag { get; init; }

    public StoredFile WithStage(IngestionStage stage, int done, int total, DateTimeOffset now) =>
        this with { Stages = new Dictionary<IngestionStage, StageProgress>(Stages) { [stage] = new(done, total) }, UpdatedAt = now };
}

/// <summary>Passages of a file that were not indexed (past the plan's allowance), and why.</summary>
public sealed record NotIndexedPart(int Passages, string Reason);

/// <summary>A passage of a file as it is searched and cited: where it is (page, character offsets within that page's text) and what it says.</summary>
public sealed record FileChunk(string Id, string FileId, int Index, int? Page, int Start, int End, string Text);

/// <summary>A found passage, with the name of its file, and which search found it (<c>azure</c>: local hybrid search; <c>raindrop</c>: SmartBuckets).</summary>
public sealed record FileSearchHit(FileChunk Chunk, string FileName, double Score)
{
    public string Provider { get; init; } = Providers.Azure;

    /// <summary>The space the passage's file is in.</summary>
    public SpaceKind Space { get; init; }
}

/// <summary>An answer about a file and the passages it rests on. <see cref="RetrievalOnly"/>: the model was unavailable; the answer is the passages.</summary>
public sealed record FileAnswer(string Answer, IReadOnlyList<FileSearchHit> Citations, bool RetrievalOnly)
{
    public string Provider { get; init; } = Providers.Azure;
}

/// <summary>A page of a user's files and where the next page starts.</summary>
public sealed record FilePage(IReadOnlyList<StoredFile> Files, string? Cursor);

/// <summary>What a finished upload measured: length, SHA-256, and its first bytes (to check its type).</summary>
public sealed record UploadedContent(long Size, string Sha256, byte[] Head);

/// <summary>A short-lived URL that grants one thing on one blob.</summary>
public sealed record SignedUrl(Uri Url, DateTimeOffset ExpiresAt);
