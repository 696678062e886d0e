using System.Text.Json;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Common.Raindrop;

/// <summary>Sends one capability's changes to Raindrop: the mirror reads them from the capability's container's change feed, in order.</summary>
public interface IMirrorHandler
{
    /// <summary>The capability (<c>files</c>, …): names the feed position and the ledger entries.</summary>
    string Area { get; }

    /// <summary>False when the capability's provider is not Raindrop: nothing is mirrored.</summary>
    bool Enabled { get; }

    CosmosContainerSpec Container { get; }

    /// <summary>
    /// Applies one change (the item as stored now; deletes are tombstones). Throws
    /// <see cref="RaindropException"/> when Raindrop could not take it: the mirror keeps its position
    /// and tries again later. Must be safe to call again for a change already applied.
    /// </summary>
    Task ApplyAsync(JsonElement change, CancellationToken cancellationToken);

    /// <summary>Removes from Raindrop what was mirrored for one item (its account is being deleted). Throws <see cref="RaindropException"/> when it could not.</summary>
    Task EraseAsync(MirroredItem item, CancellationToken cancellationToken);
}

/// <summary>Reading the fields of a change (an item of the feed, as JSON).</summary>
public static class MirrorChange
{
    /// <summary>The string field <paramref name="name"/>; null when it is missing or not a string.</summary>
    public static string? Text(this JsonElement change, string name) =>
        change.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>Whether the change is a tombstone (<c>deleted: true</c>).</summary>
    public static bool IsDeleted(this JsonElement change) =>
        change.TryGetProperty("deleted", out var deleted) && deleted.ValueKind == JsonValueKind.True;
}
