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
}
