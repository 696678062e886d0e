using System.Net;
using Microsoft.Azure.Cosmos;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Common.Raindrop;

/// <summary>
/// What the Raindrop mirror has done, in container <c>leases</c> (partition <c>/id</c>): per area, the
/// change-feed position it has applied up to and which instance holds the area (one at a time, for a
/// lease that it renews), and per mirrored item the Raindrop id it got back and the version it sent
/// — so a change read again after a failure is not sent twice.
/// </summary>
public sealed class MirrorLedger(CosmosStore store, TimeProvider clock)
{
    /// <summary>
    /// Takes or renews the area for <paramref name="owner"/> until now + <paramref name="duration"/>;
    /// false while another instance holds it. Answers the position to read from.
    /// </summary>
    public async Task<(bool Held, string? Position)> TryHoldAsync(string area, string owner, TimeSpan duration, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var id = PositionId(area);
        var current = await container.ReadOrNullAsync<PositionDocument>(id, id, cancellationToken).ConfigureAwait(false);
        var now = clock.GetUtcNow();
        if (current?.Resource is { } held && held.Owner != owner && held.HeldUntil > now) return (false, null);
        // Ours with more than half its time left: no need to write it again on every poll.
        if (current?.Resource is { } mine && mine.Owner == owner && mine.HeldUntil - now > duration / 2) return (true, mine.Continuation);
        var taken = new PositionDocument(id, current?.Resource.Continuation, owner, now + duration);
        try
        {
            if (current is null)
                await container.CreateItemAsync(taken, new PartitionKey(id), NoContent, cancellationToken).ConfigureAwait(false);
            else
                await container.ReplaceItemAsync(taken, id, new PartitionKey(id), new ItemRequestOptions { IfMatchEtag = current.ETag, EnableContentResponseOnWrite = false }, cancellationToken).ConfigureAwait(false);
            return (true, taken.Continuation);
        }
        catch (CosmosException ex) when (ex.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.PreconditionFailed)
        {
            return (false, null); // another instance took it first
        }
    }

    public async Task SavePositionAsync(string area, string owner, string continuation, TimeSpan duration, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var id = PositionId(area);
        await container.UpsertItemAsync(new PositionDocument(id, continuation, owner, clock.GetUtcNow() + duration), new PartitionKey(id), NoContent, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What was mirrored for one of our items, or null when nothing was (or it was removed again).</summary>
    public async Task<MirroredItem?> FindAsync(string area, string itemId, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var id = ItemId(area, itemId);
        return (await container.ReadOrNullAsync<MirroredItem>(id, id, cancellationToken).ConfigureAwait(false))?.Resource;
    }

    public async Task RecordAsync(string area, string itemId, string userId, string raindropId, string version, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var id = ItemId(area, itemId);
        await container.UpsertItemAsync(new MirroredItem(id, itemId, userId, raindropId, version), new PartitionKey(id), NoContent, cancellationToken).ConfigureAwait(false);
    }

    public async Task ForgetAsync(string area, string itemId, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var id = ItemId(area, itemId);
        using var response = await container.DeleteItemStreamAsync(id, new PartitionKey(id), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.NotFound) response.EnsureSuccessStatusCode();
    }

    private static readonly ItemRequestOptions NoContent = new() { EnableContentResponseOnWrite = false };

    private ValueTask<Container> ContainerAsync(CancellationToken cancellationToken) => store.GetContainerAsync(CosmosContainers.Leases, cancellationToken);

    private static string PositionId(string area) => $"raindrop-mirror:{area}";

    private static string ItemId(string area, string itemId) => $"raindrop-mirror:{area}:{itemId}";

    private sealed record PositionDocument(string Id, string? Continuation, string? Owner, DateTimeOffset? HeldUntil);
}

/// <summary>One of our items as Raindrop has it: the id Raindrop gave it and the version (e.g. content hash) that was sent.</summary>
public sealed record MirroredItem(string Id, string ItemId, string UserId, string RaindropId, string Version);
