namespace SmartApp.Domain.Common.Storage;

/// <summary>One Cosmos container: its name, partition key path and default TTL (null: off, -1: on without a default).</summary>
public sealed record CosmosContainerSpec(string Name, string PartitionKeyPath = CosmosContainers.UserPartitionKey, int? DefaultTimeToLiveSeconds = null);

/// <summary>Every container the app uses. Partition keys are immutable once deployed; infra/ declares the same list.</summary>
public static class CosmosContainers
{
    public const string UserPartitionKey = "/userId";

    public static readonly CosmosContainerSpec Users = new("users");
    public static readonly CosmosContainerSpec Conversations = new("conversations", DefaultTimeToLiveSeconds: -1);
    public static readonly CosmosContainerSpec Memories = new("memories", DefaultTimeToLiveSeconds: -1);
    public static readonly CosmosContainerSpec Files = new("files", DefaultTimeToLiveSeconds: -1);
    public static readonly CosmosContainerSpec Records = new("records", DefaultTimeToLiveSeconds: -1);
    public static readonly CosmosContainerSpec Usage = new("usage", DefaultTimeToLiveSeconds: -1);
    public static readonly CosmosContainerSpec Idempotency = new("idempotency", DefaultTimeToLiveSeconds: 24 * 60 * 60);
    public static readonly CosmosContainerSpec Leases = new("leases", "/id");
    public static readonly CosmosContainerSpec WebhookEvents = new("webhook-events", "/id", DefaultTimeToLiveSeconds: -1);

    /// <summary>Account deletions in progress and done (kept 30 days so their status can be read).</summary>
    public static readonly CosmosContainerSpec AccountDeletions = new("account-deletions", "/id", DefaultTimeToLiveSeconds: 30 * 24 * 60 * 60);

    public static IReadOnlyList<CosmosContainerSpec> All { get; } =
        [Users, Conversations, Memories, Files, Records, Usage, Idempotency, Leases, WebhookEvents, AccountDeletions];

    /// <summary>The containers that hold a user's own records, one partition per user: what export and deletion sweep.</summary>
    public static IReadOnlyList<CosmosContainerSpec> UserOwned { get; } =
        [Users, Conversations, Memories, Files, Records, Usage, Idempotency];
}
