using System.Text.Json;
using SmartApp.Domain.Common.Search;

namespace SmartApp.Domain.Memory.Adapters.Cosmos;

/// <summary>
/// One item in container <c>memories-v2</c> (key <c>/userId</c>, <c>/shard</c>): a session (<c>type: session</c>)
/// or a memory of any kind (<c>type: memory</c>). A deleted memory is kept as a tombstone (no content,
/// <c>deleted: true</c>, a TTL) so the deletion shows in the change feed that mirrors memory elsewhere. Also in the
/// user's partitions: their memory settings (<c>type: settings</c>), subjects they asked to forget (<c>forgotten</c>) and
/// the messages learning has run on (<c>learned</c>, kept a week).
/// </summary>
internal sealed record MemoryDocument(string Id, string UserId, string Type)
{
    public const string SessionType = "session", MemoryType = "memory", SettingsType = "settings", ForgottenType = "forgotten", LearnedType = "learned";

    public const string SettingsId = "memory-settings";

    /// <summary>How long a "learned from this message" mark is kept: longer than any redelivery of its queue message.</summary>
    public const int LearnedTtlSeconds = 7 * 24 * 60 * 60;

    /// <summary>Tombstones are removed by Cosmos a day after the deletion.</summary>
    public const int TombstoneTtlSeconds = 24 * 60 * 60;

    /// <summary>The second level of the item's key, from its id.</summary>
    public string Shard => Common.Storage.CosmosContainers.ShardOf(Id);

    public MemoryKind? Kind { get; init; }
    public string? Content { get; init; }
    public string? SessionId { get; init; }
    public string? Timeline { get; init; }
    public string? Key { get; init; }
    public string? Agent { get; init; }
    public JsonElement? Document { get; init; }
    public DateTimeOffset? At { get; init; }
    public DateTimeOffset? UpdatedAt { get; init; }
    public SummaryMethod? SummarizedBy { get; init; }
    public int? EntryCount { get; init; }
    public int? TimelineCount { get; init; }
    public long? DurationMs { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
    public FactOrigin? Origin { get; init; }
    public string? Topic { get; init; }
    public MemorySource? Source { get; init; }
    public IReadOnlyList<MemoryVersion>? History { get; init; }
    public bool? Learning { get; init; }

    /// <summary>The content's embedding, vector indexed (<see cref="Common.Storage.CosmosContainers.Memories"/>).</summary>
    public float[]? Vector { get; init; }

    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public string? EpisodicMemoryId { get; init; }

    public bool? Deleted { get; init; }
    public int? Ttl { get; init; }

    public static MemoryDocument From(string userId, MemorySession session) =>
        new(session.Id, userId, SessionType)
        {
            StartedAt = session.StartedAt,
            EndedAt = session.EndedAt,
            EpisodicMemoryId = session.EpisodicMemoryId,
            SummarizedBy = session.SummarizedBy,
        };

    public static MemoryDocument From(string userId, NewMemory memory)
    {
        var e = memory.Entry;
        return new MemoryDocument(e.Id, userId, MemoryType)
        {
            Kind = e.Kind, Content = e.Content, SessionId = e.SessionId, Timeline = e.Timeline, Key = e.Key, Agent = e.Agent,
            Document = e.Document, At = e.At.ToUniversalTime(), UpdatedAt = e.UpdatedAt?.ToUniversalTime(), SummarizedBy = e.SummarizedBy,
            EntryCount = e.EntryCount, TimelineCount = e.TimelineCount, DurationMs = e.DurationMs,
            ExpiresAt = e.ExpiresAt?.ToUniversalTime(), Metadata = e.Metadata, Origin = e.Origin, Topic = e.Topic, Source = e.Source, History = e.History,
            Vector = memory.Embedding,
            // Cosmos counts an item's TTL from its last write, which is now (the entry's latest time).
            Ttl = e.ExpiresAt is { } expires ? Math.Max(1, (int)Math.Ceiling((expires - (e.UpdatedAt ?? e.At)).TotalSeconds)) : null,
        };
    }

    public static MemoryDocument From(string userId, MemorySettings settings) => new(SettingsId, userId, SettingsType) { Learning = settings.Learning };

    public static MemoryDocument From(string userId, ForgottenSubject subject) =>
        new(subject.Id, userId, ForgottenType) { Content = subject.Content, Topic = subject.Topic, Vector = subject.Embedding, At = subject.At.ToUniversalTime() };

    public static MemoryDocument Learned(string userId, string id, DateTimeOffset at) => new(id, userId, LearnedType) { At = at.ToUniversalTime(), Ttl = LearnedTtlSeconds };

    public ForgottenSubject ToForgotten() => new(Id, Content ?? "", Topic, Vector ?? [], At ?? default);

    public static MemoryDocument Tombstone(string userId, string id, MemoryKind? kind) =>
        new(id, userId, MemoryType) { Kind = kind, Deleted = true, Ttl = TombstoneTtlSeconds };

    public MemorySession ToSession() =>
        new(Id, StartedAt ?? default) { EndedAt = EndedAt, EpisodicMemoryId = EpisodicMemoryId, SummarizedBy = SummarizedBy };

    public MemoryEntry ToEntry() =>
        new(Id, Kind ?? MemoryKind.Working, Content ?? "", At ?? default)
        {
            SessionId = SessionId, Timeline = Timeline, Key = Key, Agent = Agent, Document = Document, UpdatedAt = UpdatedAt,
            SummarizedBy = SummarizedBy, EntryCount = EntryCount, TimelineCount = TimelineCount, DurationMs = DurationMs,
            ExpiresAt = ExpiresAt, Metadata = Metadata, Origin = Origin, Topic = Topic, Source = Source, History = History,
        };
}
