using System.Text.Json;

namespace SmartApp.Domain.Memory;

/// <summary>The four kinds of SmartMemory.</summary>
public enum MemoryKind
{
    /// <summary>What happens in a session: entries on timelines, with optional keys and agents.</summary>
    Working,

    /// <summary>The summary of an ended session.</summary>
    Episodic,

    /// <summary>Knowledge as JSON documents.</summary>
    Semantic,

    /// <summary>Named templates and instructions: key -> value.</summary>
    Procedural,
}

/// <summary>How an episodic summary was written: by the language model, or from the session's most central memories when the model was unavailable.</summary>
public enum SummaryMethod
{
    Model,
    Extractive,
}

/// <summary>A working-memory session. Ended sessions take no new memories.</summary>
public sealed record MemorySession(string Id, DateTimeOffset StartedAt)
{
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>The episodic memory written when the session was ended with flush.</summary>
    public string? EpisodicMemoryId { get; init; }

    public SummaryMethod? SummarizedBy { get; init; }
}

/// <summary>
/// One memory of any kind. <see cref="Content"/> is the text: what was said (working), the summary
/// (episodic), the document's text (semantic) or the procedure's value (procedural).
/// </summary>
public sealed record MemoryEntry(string Id, MemoryKind Kind, string Content, DateTimeOffset At)
{
    public string? SessionId { get; init; }
    public string? Timeline { get; init; }
    public string? Key { get; init; }
    public string? Agent { get; init; }

    /// <summary>Semantic memory: the document itself.</summary>
    public JsonElement? Document { get; init; }

    public DateTimeOffset? UpdatedAt { get; init; }

    /// <summary>Episodic memory: how the summary was written, and what it covers.</summary>
    public SummaryMethod? SummarizedBy { get; init; }
    public int? EntryCount { get; init; }
    public int? TimelineCount { get; init; }
    public long? DurationMs { get; init; }
}

/// <summary>A memory and the embedding of its content, as it is written.</summary>
public sealed record NewMemory(MemoryEntry Entry, float[] Embedding);

/// <summary>Filters for reading one session's working memory (newest first).</summary>
public sealed record MemoryListQuery(string? Timeline, string? Key, int Last, DateTimeOffset? From, DateTimeOffset? To);

/// <summary>A search within one user's memory: the words or question, and what to search in.</summary>
public sealed record MemorySearchQuery(string Terms, IReadOnlySet<MemoryKind> Kinds, int Limit)
{
    public string? SessionId { get; init; }
    public string? Timeline { get; init; }
    public DateTimeOffset? From { get; init; }
    public DateTimeOffset? To { get; init; }

    /// <summary>Whether a memory of this kind, session, timeline and time passes the query's filters (every search applies them the same way).</summary>
    public bool Matches(MemoryKind kind, string? sessionId, string? timeline, DateTimeOffset? at) =>
        Kinds.Contains(kind)
        && (SessionId is null || sessionId == SessionId)
        && (Timeline is null || timeline == Timeline)
        && (From is null || at >= From)
        && (To is null || at < To);
}

public sealed record MemorySearchHit(MemoryEntry Memory, double Score)
{
    /// <summary>Which search found it (<see cref="Common.Raindrop.Providers"/>).</summary>
    public string Provider { get; init; } = Common.Raindrop.Providers.Azure;
}

/// <summary>What ending a session did.</summary>
public sealed record SessionEnded(MemorySession Session, MemoryEntry? Episodic);
