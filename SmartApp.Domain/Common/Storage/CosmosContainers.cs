using Microsoft.Azure.Cosmos;

namespace SmartApp.Domain.Common.Storage;

/// <summary>
/// One Cosmos container: its name, partition key path and default TTL (null: off, -1: on without a default);
/// for a hierarchical key, the second level (<see cref="SubPartitionKeyPath"/>), so that one owner's items
/// spread over many logical partitions; and for a searched container, where its text and vector are.
/// </summary>
public sealed record CosmosContainerSpec(string Name, string PartitionKeyPath = CosmosContainers.UserPartitionKey, int? DefaultTimeToLiveSeconds = null)
{
    public string? SubPartitionKeyPath { get; init; }

    public SearchedPaths? Search { get; init; }

    /// <summary>What export and deletion call the container's items (its name, unless the container was replaced by one of another shape).</summary>
    public string Label { get => field ?? Name; init; }

    public IReadOnlyList<string> PartitionKeyPaths => SubPartitionKeyPath is null ? [PartitionKeyPath] : [PartitionKeyPath, SubPartitionKeyPath];

    /// <summary>The key that scopes a query to one owner's items: the whole key, or for a hierarchical key its first level (a prefix).</summary>
    public PartitionKey OwnerKey(string owner) =>
        SubPartitionKeyPath is null ? new PartitionKey(owner) : new PartitionKeyBuilder().Add(owner).Build();

    /// <summary>The key of one item: the owner, and for a hierarchical key the item's second-level value too.</summary>
    public PartitionKey ItemKey(string owner, string? second) =>
        SubPartitionKeyPath is null ? new PartitionKey(owner) : new PartitionKeyBuilder().Add(owner).Add(second).Build();

    /// <summary>The key of an item of a container sharded by id (<see cref="CosmosContainers.ShardOf"/>).</summary>
    public PartitionKey ShardedKey(string owner, string id) => ItemKey(owner, CosmosContainers.ShardOf(id));
}

/// <summary>Where a searched container's items keep their text (full-text indexed) and their embedding (vector indexed).</summary>
public sealed record SearchedPaths(string TextPath, string VectorPath, int Dimensions);

/// <summary>Every container the app uses. Partition keys are immutable once deployed; infra/ declares the same list.</summary>
public static class CosmosContainers
{
    public const string UserPartitionKey = "/userId";

    /// <summary>all-MiniLM-L6-v2's (see <see cref="Search.MiniLmEmbedder"/>).</summary>
    public const int EmbeddingDimensions = 384;

    public static readonly CosmosContainerSpec Users = new("users");
    public static readonly CosmosContainerSpec Conversations = new("conversations", DefaultTimeToLiveSeconds: -1);

    /// <summary>
    /// Memories and sessions, keyed by owner then shard (<see cref="ShardOf"/>): no owner's memories can reach Cosmos DB's
    /// 20 GB per partition key value (see the README's arithmetic). Replaces <see cref="LegacyMemories"/>.
    /// </summary>
    public static readonly CosmosContainerSpec Memories = new("memories-v2", DefaultTimeToLiveSeconds: -1)
    {
        Label = "memories", SubPartitionKeyPath = ShardPath, Search = new("/content", "/vector", EmbeddingDimensions),
    };
    public static readonly CosmosContainerSpec Files = new("files", DefaultTimeToLiveSeconds: -1);

    /// <summary>
    /// Files' passages, keyed by owner then file: a logical partition holds one file's passages (at most a plan's
    /// passages per file), so no owner's content can reach Cosmos DB's 20 GB per partition key value.
    /// </summary>
    public static readonly CosmosContainerSpec Passages = new("passages", DefaultTimeToLiveSeconds: -1)
    {
        SubPartitionKeyPath = "/fileId", Search = new("/text", "/vector", EmbeddingDimensions),
    };

    /// <summary>Data records and tables, keyed by owner then shard, as <see cref="Memories"/>. Replaces <see cref="LegacyRecords"/>.</summary>
    public static readonly CosmosContainerSpec Records = new("records-v2", DefaultTimeToLiveSeconds: -1) { Label = "records", SubPartitionKeyPath = ShardPath };
    public static readonly CosmosContainerSpec Usage = new("usage", DefaultTimeToLiveSeconds: -1);
    public static readonly CosmosContainerSpec Idempotency = new("idempotency", DefaultTimeToLiveSeconds: 24 * 60 * 60);
    public static readonly CosmosContainerSpec Leases = new("leases", "/id");
    public static readonly CosmosContainerSpec WebhookEvents = new("webhook-events", "/id", DefaultTimeToLiveSeconds: -1);

    /// <summary>Share links' snapshots of conversations, keyed by the link (read without knowing whose it is); each names its owner.</summary>
    public static readonly CosmosContainerSpec Shares = new("shares", "/id");

    /// <summary>Account deletions in progress and done (kept 30 days so their status can be read).</summary>
    public static readonly CosmosContainerSpec AccountDeletions = new("account-deletions", "/id", DefaultTimeToLiveSeconds: 30 * 24 * 60 * 60);

    /// <summary>
    /// The containers memories and records were kept in before, one partition per user (no longer declared or created; a
    /// deployment that has them keeps them until <see cref="StoredDataMigration"/> has emptied them).
    /// </summary>
    public static readonly CosmosContainerSpec LegacyMemories = new("memories", DefaultTimeToLiveSeconds: -1), LegacyRecords = new("records", DefaultTimeToLiveSeconds: -1);

    /// <summary>Where a legacy container's items go.</summary>
    public static IReadOnlyList<(CosmosContainerSpec From, CosmosContainerSpec To)> Moves { get; } = [(LegacyMemories, Memories), (LegacyRecords, Records)];

    public const string ShardPath = "/shard";

    /// <summary>Shards per owner in a sharded container: an owner's items spread evenly over this many logical partitions.</summary>
    public const int ShardCount = 16;

    /// <summary>An item's shard, from its id alone (so a point read needs nothing else): one hex digit of the id's SHA-256.</summary>
    public static string ShardOf(string id)
    {
        Span<byte> hash = stackalloc byte[32];
        System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(id), hash);
        return (hash[0] % ShardCount).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
    }

    public static IReadOnlyList<CosmosContainerSpec> All { get; } =
        [Users, Conversations, Memories, Files, Passages, Records, Usage, Idempotency, Leases, WebhookEvents, AccountDeletions, Shares];

    /// <summary>The containers that hold a user's own records, keyed by user first: what export and deletion sweep.</summary>
    public static IReadOnlyList<CosmosContainerSpec> UserOwned { get; } =
        [Users, Conversations, Memories, Files, Passages, Records, Usage, Idempotency];

    /// <summary>
    /// Containers keyed by something else whose items name their owner (<c>userId</c>): deletion finds them by a query across
    /// partitions. What they hold is also in the owner's own records (a share link's snapshot is of a conversation), so export
    /// leaves them out.
    /// </summary>
    public static IReadOnlyList<CosmosContainerSpec> OwnerNamed { get; } = [Shares];
}
