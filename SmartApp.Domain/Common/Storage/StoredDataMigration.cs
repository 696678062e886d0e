using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Search;

namespace SmartApp.Domain.Common.Storage;

/// <summary>
/// Brings data written in an earlier shape into the current one, resumable at any point (what is done is no longer
/// found by the next run's query):
/// <list type="bullet">
/// <item>memories and records move from their legacy containers (one partition per user) to the sharded ones
/// (<see cref="CosmosContainers.Moves"/>), one owner at a time under that owner's move lease, either here on the
/// timer or on the owner's next request (<see cref="EnsureMovedAsync"/>), whichever comes first;</item>
/// <item>file passages move from <c>files</c> to <c>passages</c> (a derived index: until a passage has moved, the
/// native search engine does not find it);</item>
/// <item>embeddings stored as base64 (<c>embedding</c>) become vectors (<c>vector</c>) as they move.</item>
/// </list>
/// While an owner has items in a legacy container, no request of theirs reads or writes the new one (each store asks
/// <see cref="EnsureMovedAsync"/> first), and only the lease holder moves: so the legacy item is the current one, and
/// a copy left by an interrupted move is simply overwritten.
/// </summary>
public sealed partial class StoredDataMigration(CosmosStore store, IMemoryCache cache, IOptions<CosmosOptions> options, TimeProvider clock, ILogger<StoredDataMigration> logger)
{
    /// <summary>How long a move lease holds without being released (a holder that died frees it after this).</summary>
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromMinutes(2);

    /// <summary>What a request waits, at most, for its owner's move (someone else's or its own) before answering 503.</summary>
    private static readonly TimeSpan RequestBudget = TimeSpan.FromSeconds(8);

    /// <summary>What one timer run spends on owner moves before leaving the rest to the next run.</summary>
    private static readonly TimeSpan RunBudget = TimeSpan.FromSeconds(45);

    private const int PageSize = 100;

    /// <summary>
    /// Returns once the owner has nothing left in the legacy container that <paramref name="current"/> replaces, moving it
    /// now if needed. Known per instance once seen (nothing writes a legacy container any more). An owner whose move takes
    /// longer than a request may wait gets a 503 with Retry-After; the move goes on in the background.
    /// </summary>
    public async ValueTask EnsureMovedAsync(CosmosContainerSpec current, string owner, CancellationToken cancellationToken)
    {
        var legacy = CosmosContainers.Moves.FirstOrDefault(m => m.To == current).From;
        if (legacy is null || cache.TryGetValue(MovedKey(current, owner), out _)) return;
        var deadline = clock.GetUtcNow() + RequestBudget;
        while (true)
        {
            if (!await HasLegacyItemsAsync(legacy, owner, cancellationToken).ConfigureAwait(false))
            {
                cache.Set(MovedKey(current, owner), true, new MemoryCacheEntryOptions { Size = 1, SlidingExpiration = TimeSpan.FromHours(1) });
                return;
            }
            if (clock.GetUtcNow() >= deadline) break;
            if (await MoveOwnerAsync(legacy, current, owner, deadline, cancellationToken).ConfigureAwait(false) is null)
                await Task.Delay(TimeSpan.FromMilliseconds(200), clock, cancellationToken).ConfigureAwait(false); // someone else is moving it
        }
        LogOwnerStillMoving(logger, current.Name);
        throw new UpstreamUnavailableException("This account's stored data is being moved to a new storage layout; retry shortly.", TimeSpan.FromSeconds(10));
    }

    /// <summary>One timer run: owners' memories and records, then a batch of passages.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var deadline = clock.GetUtcNow() + RunBudget;
        var owners = 0;
        foreach (var (legacy, current) in CosmosContainers.Moves)
        {
            foreach (var owner in await OwnersWithLegacyItemsAsync(legacy, cancellationToken).ConfigureAwait(false))
            {
                if (clock.GetUtcNow() >= deadline) break;
                if (await MoveOwnerAsync(legacy, current, owner, deadline, cancellationToken).ConfigureAwait(false) is > 0) owners++;
            }
        }
        var passages = await MovePassagesAsync(options.Value.MigrationBatchSize, cancellationToken).ConfigureAwait(false);
        if (owners + passages > 0) LogMigrated(logger, owners, passages);
    }

    /// <summary>
    /// Moves the owner's legacy items under the owner's lease until none is left or the deadline passes; the number moved,
    /// or null when another instance holds the lease.
    /// </summary>
    private async Task<int?> MoveOwnerAsync(CosmosContainerSpec legacy, CosmosContainerSpec current, string owner, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        var leases = await store.GetContainerAsync(CosmosContainers.Leases, cancellationToken).ConfigureAwait(false);
        var leaseId = $"move:{current.Name}:{owner}";
        if (await TryAcquireAsync(leases, leaseId, cancellationToken).ConfigureAwait(false) is not { } leaseEtag) return null;
        var moved = 0;
        try
        {
            var from = store.Database.GetContainer(legacy.Name);
            var to = await store.GetContainerAsync(current, cancellationToken).ConfigureAwait(false);
            while (clock.GetUtcNow() < deadline)
            {
                var page = await ReadAsync(from, new QueryDefinition("SELECT TOP @n * FROM c").WithParameter("@n", PageSize), new PartitionKey(owner), cancellationToken).ConfigureAwait(false);
                if (page is not { Count: > 0 }) break;
                await Parallel.ForEachAsync(page, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (item, token) =>
                {
                    if (await MoveItemAsync(from, to, current, item, token).ConfigureAwait(false)) Interlocked.Increment(ref moved);
                }).ConfigureAwait(false);
            }
        }
        finally
        {
            using var released = await leases.DeleteItemStreamAsync(leaseId, new PartitionKey(leaseId), new ItemRequestOptions { IfMatchEtag = leaseEtag }, CancellationToken.None).ConfigureAwait(false);
        }
        if (moved > 0) LogOwnerMoved(logger, moved, current.Name);
        return moved;
    }

    /// <summary>
    /// Writes the item in its new shape (over a copy an interrupted move left), then removes the legacy item as it was
    /// read; false when that item had changed meanwhile (only a writer of an older version can do that), so that the next
    /// page moves it again.
    /// </summary>
    private static async Task<bool> MoveItemAsync(Container from, Container to, CosmosContainerSpec current, JsonObject item, CancellationToken cancellationToken)
    {
        var (id, owner, etag) = ((string)item["id"]!, (string)item["userId"]!, (string?)item["_etag"]);
        var copy = InCurrentShape(item, current);
        using (var written = await to.UpsertItemStreamAsync(Stream(copy), current.ItemKey(owner, SecondLevelOf(copy, current)), cancellationToken: cancellationToken).ConfigureAwait(false))
            written.EnsureSuccessStatusCode();
        using var removed = await from.DeleteItemStreamAsync(id, new PartitionKey(owner), new ItemRequestOptions { IfMatchEtag = etag }, cancellationToken).ConfigureAwait(false);
        if (removed.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound) return false;
        removed.EnsureSuccessStatusCode();
        return true;
    }

    /// <summary>
    /// Each passage is created in <c>passages</c> (one already there, written by a later ingestion, wins), then removed
    /// from <c>files</c> only as it was read; if it changed or went meanwhile (its file was deleted or re-indexed), the
    /// copy just made is removed again, so nothing deleted comes back.
    /// </summary>
    private async Task<int> MovePassagesAsync(int batch, CancellationToken cancellationToken)
    {
        var files = await store.GetContainerAsync(CosmosContainers.Files, cancellationToken).ConfigureAwait(false);
        var passages = await store.GetContainerAsync(CosmosContainers.Passages, cancellationToken).ConfigureAwait(false);
        var moved = 0;
        var legacy = await ReadAsync(files, new QueryDefinition("SELECT TOP @n * FROM c WHERE c.type = 'chunk'").WithParameter("@n", batch), null, cancellationToken).ConfigureAwait(false);
        foreach (var item in legacy ?? [])
        {
            var (id, userId, etag) = ((string)item["id"]!, (string)item["userId"]!, (string?)item["_etag"]);
            var copy = InCurrentShape(item, CosmosContainers.Passages);
            var key = CosmosContainers.Passages.ItemKey(userId, SecondLevelOf(copy, CosmosContainers.Passages));
            using var created = await passages.CreateItemStreamAsync(Stream(copy), key, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!created.IsSuccessStatusCode && created.StatusCode != HttpStatusCode.Conflict) created.EnsureSuccessStatusCode();
            using var removed = await files.DeleteItemStreamAsync(id, new PartitionKey(userId), new ItemRequestOptions { IfMatchEtag = etag }, cancellationToken).ConfigureAwait(false);
            if (removed.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound)
            {
                if (created.IsSuccessStatusCode) (await passages.DeleteItemStreamAsync(id, key, cancellationToken: cancellationToken).ConfigureAwait(false)).Dispose();
                continue;
            }
            removed.EnsureSuccessStatusCode();
            moved++;
        }
        return moved;
    }

    private async Task<bool> HasLegacyItemsAsync(CosmosContainerSpec legacy, string owner, CancellationToken cancellationToken) =>
        await ReadAsync(store.Database.GetContainer(legacy.Name), new QueryDefinition("SELECT TOP 1 c.id FROM c"), new PartitionKey(owner), cancellationToken).ConfigureAwait(false) is { Count: > 0 };

    /// <summary>The only query across owners here: some owners with something left to move.</summary>
    private async Task<IReadOnlyList<string>> OwnersWithLegacyItemsAsync(CosmosContainerSpec legacy, CancellationToken cancellationToken)
    {
        var items = await ReadAsync(store.Database.GetContainer(legacy.Name), new QueryDefinition("SELECT TOP @n c.userId FROM c").WithParameter("@n", options.Value.MigrationBatchSize), null, cancellationToken).ConfigureAwait(false);
        return (items ?? []).Select(i => (string?)i["userId"]).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>A query's results (one page's worth at most), or null when the container does not exist (a deployment that never had it).</summary>
    private static async Task<List<JsonObject>?> ReadAsync(Container container, QueryDefinition query, PartitionKey? scope, CancellationToken cancellationToken)
    {
        var items = new List<JsonObject>();
        try
        {
            using var iterator = container.GetItemQueryStreamIterator(query, requestOptions: new QueryRequestOptions { PartitionKey = scope, MaxItemCount = 1000 });
            while (iterator.HasMoreResults)
            {
                using var page = await iterator.ReadNextAsync(cancellationToken).ConfigureAwait(false);
                if (page.StatusCode == HttpStatusCode.NotFound) return null;
                page.EnsureSuccessStatusCode();
                var body = await JsonNode.ParseAsync(page.Content, cancellationToken: cancellationToken).ConfigureAwait(false);
                items.AddRange(body?["Documents"]?.AsArray().OfType<JsonObject>() ?? []);
            }
        }
        catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        return items;
    }

    /// <returns>The lease's etag, or null when another holder's lease has not expired.</returns>
    private async Task<string?> TryAcquireAsync(Container leases, string leaseId, CancellationToken cancellationToken)
    {
        var lease = new JsonObject { ["id"] = leaseId, ["expiresAt"] = (clock.GetUtcNow() + LeaseDuration).ToUnixTimeMilliseconds() };
        using (var created = await leases.CreateItemStreamAsync(Stream(lease), new PartitionKey(leaseId), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (created.IsSuccessStatusCode) return created.Headers.ETag;
            if (created.StatusCode != HttpStatusCode.Conflict) created.EnsureSuccessStatusCode();
        }
        var existing = await leases.ReadOrNullAsync<JsonObject>(leaseId, new PartitionKey(leaseId), cancellationToken).ConfigureAwait(false);
        if (existing is null) return await TryAcquireAsync(leases, leaseId, cancellationToken).ConfigureAwait(false);
        if ((long?)existing.Resource["expiresAt"] > clock.GetUtcNow().ToUnixTimeMilliseconds()) return null;
        using var taken = await leases.ReplaceItemStreamAsync(Stream(lease), leaseId, new PartitionKey(leaseId), new ItemRequestOptions { IfMatchEtag = existing.ETag }, cancellationToken).ConfigureAwait(false);
        return taken.IsSuccessStatusCode ? taken.Headers.ETag : null;
    }

    /// <summary>The item without Cosmos's system properties, a base64 embedding as a vector, and its shard when the container is sharded.</summary>
    private static JsonObject InCurrentShape(JsonObject item, CosmosContainerSpec current)
    {
        var copy = new JsonObject();
        foreach (var (name, value) in item)
            if (!name.StartsWith('_') && name != "embedding") copy[name] = value?.DeepClone();
        if (item["embedding"] is not null)
            copy["vector"] = new JsonArray([.. EmbeddingCodec.Decode((string?)item["embedding"]).Select(v => (JsonNode?)v)]);
        if (current.SubPartitionKeyPath == CosmosContainers.ShardPath) copy["shard"] = CosmosContainers.ShardOf((string)item["id"]!);
        return copy;
    }

    private static string? SecondLevelOf(JsonObject item, CosmosContainerSpec spec) =>
        spec.SubPartitionKeyPath is { } path ? (string?)item[path.TrimStart('/')] : null;

    private static string MovedKey(CosmosContainerSpec current, string owner) => $"moved:{current.Name}:{owner}";

    private static MemoryStream Stream(JsonObject item) => new(System.Text.Encoding.UTF8.GetBytes(item.ToJsonString()));

    [LoggerMessage(EventId = 1204, Level = LogLevel.Information, Message = "Stored data migration: {Owners} owners' memories or records moved to sharded containers, {Passages} file passages moved to their own container")]
    private static partial void LogMigrated(ILogger logger, int owners, int passages);

    [LoggerMessage(EventId = 1205, Level = LogLevel.Information, Message = "Moved {Count} items of an owner to {Container}")]
    private static partial void LogOwnerMoved(ILogger logger, int count, string container);

    [LoggerMessage(EventId = 1206, Level = LogLevel.Warning, Message = "An owner's move to {Container} outlasted a request; it goes on in the background")]
    private static partial void LogOwnerStillMoving(ILogger logger, string container);
}
