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
    /// <summary>Whose space the memory is in (from where it was read; not a stored field). Only documents and procedures are ever an organization's.</summary>
    public Identity.SpaceKind Space { get; init; }

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

    /// <summary>After this moment the memory is gone: not read, not searched, and removed by the store's TTL.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>The client's labels (string to string), filterable in lists.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>A fact: learned from a conversation, or stated by the user ("remember that …").</summary>
    public FactOrigin? Origin { get; init; }

    /// <summary>A fact: what it is about ("home city", "diet"), so a later fact on the same subject replaces it.</summary>
    public string? Topic { get; init; }

    /// <summary>A fact: the message it was learned or stated in.</summary>
    public MemorySource? Source { get; init; }

    /// <summary>What the memory said before each change, oldest first.</summary>
    public IReadOnlyList<MemoryVersion>? History { get; init; }

    public bool IsExpired(DateTimeOffset now) => ExpiresAt is { } expires && expires <= now;
}

/// <summary>Where a fact came from.</summary>
public enum FactOrigin
{
    /// <summary>Extracted by the model from a conversation, after the turn.</summary>
    Learned,

    /// <summary>Stated by the user: "remember that …" in chat, or <c>POST /api/memory/facts</c>.</summary>
    Stated,
}

/// <summary>The conversation and message a fact was learned from (or stated in), and when that message was sent.</summary>
public sealed record MemorySource(string? ConversationId, string? MessageId, DateTimeOffset? At);

/// <summary>What a memory said until it was changed.</summary>
public sealed record MemoryVersion(string Content, DateTimeOffset From, DateTimeOffset Until, MemorySource? Source);

/// <summary>
/// A subject the user asked to forget: a fact on it (same topic, or nearly the same words) is not learned
/// again from a later mention; stating it again explicitly lifts this.
/// </summary>
public sealed record ForgottenSubject(string Id, string Content, string? Topic, float[] Embedding, DateTimeOffset At);

/// <summary>The user's memory settings.</summary>
public sealed record MemorySettings(bool Learning)
{
    public static MemorySettings Default { get; } = new(true);
}

/// <summary>Which of the user's memories a list or a bulk delete takes: every filter given must hold.</summary>
public sealed record MemoryFilter(IReadOnlySet<MemoryKind>? Kinds, string? Timeline, IReadOnlyDictionary<string, string>? Metadata, DateTimeOffset? From, DateTimeOffset? To)
{
    public FactOrigin? Origin { get; init; }

    public bool IsEmpty => Kinds is null && Timeline is null && (Metadata is null || Metadata.Count == 0) && From is null && To is null && Origin is null;
}

public sealed record MemoryPage(IReadOnlyList<MemoryEntry> Memories, string? Cursor);

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

    /// <summary>Working memory on this timeline is left out (a chat turn's context leaves out chat transcripts when facts are learned from them).</summary>
    public string? ExceptTimeline { get; init; }

    /// <summary>Whether a memory of this kind, session, timeline and time passes the query's filters (every search applies them the same way).</summary>
    public bool Matches(MemoryKind kind, string? sessionId, string? timeline, DateTimeOffset? at) =>
        Kinds.Contains(kind)
        && (SessionId is null || sessionId == SessionId)
        && (Timeline is null || timeline == Timeline)
        && (ExceptTimeline is null || kind != MemoryKind.Working || timeline != ExceptTimeline)
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
