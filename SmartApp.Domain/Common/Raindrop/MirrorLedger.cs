using System.Net;
using Microsoft.Azure.Cosmos;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Common.Raindrop;

/// <summary>
/// What the Raindrop mirror has done, in container <c>leases</c> (partition <c>/id</c>): per area, the
/// change-feed position it has applied up to, and per mirrored item the Raindrop id it got back and the version it sent
/// — so a change read again after a failure is not sent twice.
/// </summary>
public sealed class MirrorLedger(CosmosStore store)
{
    /// <summary>
    /// The change-feed position the area has been applied up to (null: from the beginning). The area's record
    /// is created on first use. One mirror runs at a time (the host's timer singleton), so no lease is kept here.
    /// </summary>
    public async Task<string?> ReadPositionAsync(string area, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var id = PositionId(area);
        if (await container.ReadOrNullAsync<PositionDocument>(id, id, cancellationToken).ConfigureAwait(false) is { } current)
            return current.Resource.Continuation;
        try
        {
            await container.CreateItemAsync(new PositionDocument(id, null), new PartitionKey(id), NoContent, cancellationToken).ConfigureAwait(false);
        }
        catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
        {
            // Created meanwhile: it starts from the beginning either way.
        }
        return null;
    }

    public async Task SavePositionAsync(string area, string continuation, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var id = PositionId(area);
        // A patch, so the drained time saved beside the position stays.
        await container.PatchItemAsync<PositionDocument>(id, new PartitionKey(id), [PatchOperation.Set("/continuation", continuation)], NoPatchContent, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What was mirrored for one of our items, or null when nothing was (or it was removed again).</summary>
    public async Task<MirroredItem?> FindAsync(string area, string itemId, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var id = ItemId(area, itemId);
        return (await container.ReadOrNullAsync<MirroredItem>(id, id, cancellationToken).ConfigureAwait(false))?.Resource;
    }

    /// <summary>
    /// Records what Raindrop has for one of our items. <paramref name="scope"/> is what Raindrop needs
    /// beside its id to address the item again (a working memory's session, a procedure's key). With
    /// <paramref name="findable"/>, the way back from Raindrop's id to ours is kept too, for areas whose
    /// search results name Raindrop's ids.
    /// </summary>
    public async Task RecordAsync(string area, string itemId, string userId, string raindropId, string version, CancellationToken cancellationToken, string? scope = null, bool findable = false)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var ids = findable ? new[] { ItemId(area, itemId), BackId(area, raindropId) } : [ItemId(area, itemId)];
        await Task.WhenAll(ids.Select(id => container.UpsertItemAsync(new MirroredItem(id, itemId, userId, raindropId, version) { Scope = scope },
            new PartitionKey(id), NoContent, cancellationToken))).ConfigureAwait(false);
    }

    /// <summary>Our item that Raindrop knows by <paramref name="raindropId"/>, with the user it belongs to; null when none is mirrored now.</summary>
    public async Task<MirroredItem?> FindByRaindropIdAsync(string area, string raindropId, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var id = BackId(area, raindropId);
        return (await container.ReadOrNullAsync<MirroredItem>(id, id, cancellationToken).ConfigureAwait(false))?.Resource;
    }

    /// <summary>Everything mirrored for one user, per area (a query across the ledger: used when an account is deleted).</summary>
    public async Task<IReadOnlyList<(string Area, MirroredItem Item)>> ItemsOfAsync(string userId, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var query = new QueryDefinition("SELECT * FROM c WHERE c.userId = @user AND STARTSWITH(c.id, @prefix)").WithParameter("@user", userId).WithParameter("@prefix", ItemPrefix);
        var items = new List<(string, MirroredItem)>();
        using var iterator = container.GetItemQueryIterator<MirroredItem>(query);
        while (iterator.HasMoreResults)
            foreach (var item in await iterator.ReadNextAsync(cancellationToken).ConfigureAwait(false))
                items.Add((item.Id[ItemPrefix.Length..item.Id.IndexOf(':', ItemPrefix.Length)], item));
        return items;
    }

    /// <summary>One user's items of an area that Raindrop has taken but not yet reported indexed (a query across the ledger).</summary>
    public async Task<IReadOnlyList<MirroredItem>> NotIndexedAsync(string area, string userId, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var query = new QueryDefinition("SELECT * FROM c WHERE c.userId = @user AND STARTSWITH(c.id, @prefix) AND (NOT IS_DEFINED(c.indexedAt) OR IS_NULL(c.indexedAt))")
            .WithParameter("@user", userId).WithParameter("@prefix", $"{ItemPrefix}{area}:");
        var items = new List<MirroredItem>();
        using var iterator = container.GetItemQueryIterator<MirroredItem>(query);
        while (iterator.HasMoreResults)
            items.AddRange(await iterator.ReadNextAsync(cancellationToken).ConfigureAwait(false));
        return items;
    }

    /// <summary>Notes that Raindrop reported the item indexed (searchable there); recording it again (new content) clears the note.</summary>
    public async Task MarkIndexedAsync(string area, string itemId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var id = ItemId(area, itemId);
        try
        {
            await container.PatchItemAsync<MirroredItem>(id, new PartitionKey(id), [PatchOperation.Set("/indexedAt", at)], NoPatchContent, cancellationToken).ConfigureAwait(false);
        }
        catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            // Forgotten meanwhile (the file was deleted): nothing to note.
        }
    }

    public async Task ForgetAsync(string area, MirroredItem item, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        foreach (var id in new[] { ItemId(area, item.ItemId), BackId(area, item.RaindropId) })
        {
            using var response = await container.DeleteItemStreamAsync(id, new PartitionKey(id), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.NotFound) response.EnsureSuccessStatusCode();
        }
    }

    /// <summary>
    /// Notes that the area's feed was found empty at <paramref name="at"/>: everything written before
    /// then is in Raindrop. Instances that do not mirror the area read it (<see cref="DrainedAtAsync"/>).
    /// </summary>
    public async Task SaveDrainedAtAsync(string area, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var id = PositionId(area);
        await container.PatchItemAsync<PositionDocument>(id, new PartitionKey(id), [PatchOperation.Set("/drainedAt", at)], NoPatchContent, cancellationToken).ConfigureAwait(false);
    }

    public async Task<DateTimeOffset?> DrainedAtAsync(string area, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var id = PositionId(area);
        return (await container.ReadOrNullAsync<PositionDocument>(id, id, cancellationToken).ConfigureAwait(false))?.Resource.DrainedAt;
    }

    private static readonly ItemRequestOptions NoContent = new() { EnableContentResponseOnWrite = false };
    private static readonly PatchItemRequestOptions NoPatchContent = new() { EnableContentResponseOnWrite = false };

    private ValueTask<Container> ContainerAsync(CancellationToken cancellationToken) => store.GetContainerAsync(CosmosContainers.Leases, cancellationToken);

    private static string PositionId(string area) => $"raindrop-mirror:{area}";

    private const string ItemPrefix = "raindrop-mirror:";

    private static string ItemId(string area, string itemId) => $"{ItemPrefix}{area}:{itemId}";

    private static string BackId(string area, string raindropId) => $"raindrop-id:{area}:{raindropId}";

    private sealed record PositionDocument(string Id, string? Continuation)
    {
        public DateTimeOffset? DrainedAt { get; init; }
    }
}

/// <summary>One of our items as Raindrop has it: the id Raindrop gave it and the version (e.g. content hash) that was sent.</summary>
public sealed record MirroredItem(string Id, string ItemId, string UserId, string RaindropId, string Version)
{
    /// <summary>What Raindrop needs beside its id to address the item (a session id, a procedure key).</summary>
    public string? Scope { get; init; }

    /// <summary>When Raindrop reported the item indexed (files: <c>document_status</c> said <c>completed</c>); null until then.</summary>
    public DateTimeOffset? IndexedAt { get; init; }
}
