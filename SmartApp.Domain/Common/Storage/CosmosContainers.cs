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

    public IReadOnlyList<string> PartitionKeyPaths => SubPartitionKeyPath is null ? [PartitionKeyPath] : [PartitionKeyPath, SubPartitionKeyPath];

    /// <summary>The key that scopes a query to one owner's items: the whole key, or for a hierarchical key its first level (a prefix).</summary>
    public PartitionKey OwnerKey(string owner) =>
        SubPartitionKeyPath is null ? new PartitionKey(owner) : new PartitionKeyBuilder().Add(owner).Build();

    /// <summary>The key of one item: the owner, and for a hierarchical key the item's second-level value too.</summary>
    public PartitionKey ItemKey(string owner, string? second) =>
        SubPartitionKeyPath is null ? new PartitionKey(owner) : new PartitionKeyBuilder().Add(owner).Add(second).Build();
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
    public static readonly CosmosContainerSpec Memories = new("memories", DefaultTimeToLiveSeconds: -1) { Search = new("/content", "/vector", EmbeddingDimensions) };
    public static readonly CosmosContainerSpec Files = new("files", DefaultTimeToLiveSeconds: -1);

    /// <summary>
    /// Files' passages, keyed by owner then file: a logical partition holds one file's passages (at most a plan's
    /// passages per file), so no owner's content can reach Cosmos DB's 20 GB per partition key value.
    /// </summary>
    public static readonly CosmosContainerSpec Passages = new("passages", DefaultTimeToLiveSeconds: -1)
    {
        SubPartitionKeyPath = "/fileId", Search = new("/text", "/vector", EmbeddingDimensions),
    };

    public static readonly CosmosContainerSpec Records = new("records", DefaultTimeToLiveSeconds: -1);
    public static readonly CosmosContainerSpec Usage = new("usage", DefaultTimeToLiveSeconds: -1);
    public static readonly CosmosContainerSpec Idempotency = new("idempotency", DefaultTimeToLiveSeconds: 24 * 60 * 60);
    public static readonly CosmosContainerSpec Leases = new("leases", "/id");
    public static readonly CosmosContainerSpec WebhookEvents = new("webhook-events", "/id", DefaultTimeToLiveSeconds: -1);

    /// <summary>Account deletions in progress and done (kept 30 days so their status can be read).</summary>
    public static readonly CosmosContainerSpec AccountDeletions = new("account-deletions", "/id", DefaultTimeToLiveSeconds: 30 * 24 * 60 * 60);

    public static IReadOnlyList<CosmosContainerSpec> All { get; } =
        [Users, Conversations, Memories, Files, Passages, Records, Usage, Idempotency, Leases, WebhookEvents, AccountDeletions];

    /// <summary>The containers that hold a user's own records, keyed by user first: what export and deletion sweep.</summary>
    public static IReadOnlyList<CosmosContainerSpec> UserOwned { get; } =
        [Users, Conversations, Memories, Files, Passages, Records, Usage, Idempotency];
}
