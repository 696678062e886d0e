namespace SmartApp.Domain.Memory;

/// <summary>
/// The system of record for memory (Cosmos). Every call is scoped to one user's partition; an id
/// that belongs to another user is simply not found.
/// </summary>
public interface IMemoryStore
{
    Task CreateSessionAsync(string userId, MemorySession session, CancellationToken cancellationToken);

    Task<MemorySession?> FindSessionAsync(string userId, string sessionId, CancellationToken cancellationToken);

    /// <summary>Marks the session ended. False when it was already ended by someone else (the caller reads it again).</summary>
    Task<bool> TryEndSessionAsync(string userId, MemorySession ended, CancellationToken cancellationToken);

    /// <summary>Writes the memory; an entry with the same id is left as it is (ids of repeats are equal), unless it was deleted.</summary>
    Task PutAsync(string userId, NewMemory memory, CancellationToken cancellationToken);

    /// <summary>Writes the memory over any entry with the same id (procedures, episodic summaries).</summary>
    Task UpsertAsync(string userId, NewMemory memory, CancellationToken cancellationToken);

    Task<MemoryEntry?> FindAsync(string userId, string memoryId, CancellationToken cancellationToken);

    /// <summary>One session's working memory, newest first.</summary>
    Task<IReadOnlyList<MemoryEntry>> ListSessionAsync(string userId, string sessionId, MemoryListQuery query, CancellationToken cancellationToken);

    /// <summary>A session's working memory with embeddings, oldest first (for summaries).</summary>
    Task<IReadOnlyList<NewMemory>> ReadSessionForSummaryAsync(string userId, string sessionId, int max, CancellationToken cancellationToken);

    Task<IReadOnlyList<MemoryEntry>> ListProceduresAsync(string userId, CancellationToken cancellationToken);

    /// <summary>Deletes the memory. False when it did not exist.</summary>
    Task<bool> DeleteAsync(string userId, string memoryId, CancellationToken cancellationToken);

    /// <summary>When anything of the user's memory (sessions and tombstones too) was last written; null when nothing ever was.</summary>
    Task<DateTimeOffset?> LastWrittenAtAsync(string userId, CancellationToken cancellationToken);

    /// <summary>How many memories the user keeps, of every kind (what the plan's limit counts).</summary>
    Task<long> CountAsync(string userId, CancellationToken cancellationToken);

    /// <summary>
    /// Changes a memory as it is now: <paramref name="change"/> sees the current entry and returns its replacement, or null to
    /// leave it (it may run again when another write came first). Null when the memory does not exist (or has expired).
    /// </summary>
    Task<MemoryEntry?> UpdateAsync(string userId, string memoryId, Func<MemoryEntry, NewMemory?> change, CancellationToken cancellationToken);

    /// <summary>The user's memories that pass the filter, newest first, a page at a time.</summary>
    Task<MemoryPage> ListAsync(string userId, MemoryFilter filter, string? cursor, int limit, CancellationToken cancellationToken);

    Task<MemorySettings> GetSettingsAsync(string userId, CancellationToken cancellationToken);

    Task PutSettingsAsync(string userId, MemorySettings settings, CancellationToken cancellationToken);

    /// <summary>Records a subject the user asked to forget (one per subject: a repeat replaces it).</summary>
    Task PutForgottenAsync(string userId, ForgottenSubject subject, CancellationToken cancellationToken);

    /// <summary>The subjects the user asked to forget, newest first, at most <paramref name="max"/>.</summary>
    Task<IReadOnlyList<ForgottenSubject>> ListForgottenAsync(string userId, int max, CancellationToken cancellationToken);

    Task RemoveForgottenAsync(string userId, string subjectId, CancellationToken cancellationToken);

    /// <summary>Whether learning from this message already ran to its end.</summary>
    Task<bool> WasLearnedFromAsync(string userId, string messageId, CancellationToken cancellationToken);

    /// <summary>Records that learning from this message ran to its end (kept for a while, so a redelivered message changes nothing).</summary>
    Task MarkLearnedFromAsync(string userId, string messageId, DateTimeOffset at, CancellationToken cancellationToken);
}

/// <summary>
/// Search over one user's memory. Locally: hybrid keyword + vector search over the user's Cosmos
/// partition. A Raindrop SmartMemory adapter implements the same port.
/// </summary>
public interface IMemorySearch
{
    Task<IReadOnlyList<MemorySearchHit>> SearchAsync(string userId, MemorySearchQuery query, CancellationToken cancellationToken);
}
