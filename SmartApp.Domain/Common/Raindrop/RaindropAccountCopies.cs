using SmartApp.Domain.Identity;

namespace SmartApp.Domain.Common.Raindrop;

/// <summary>
/// A deleted account's copies in Raindrop: every item the ledger says was mirrored for the user is
/// removed there by its area's handler, then forgotten. Runs after the user's Cosmos data is gone,
/// so the change feed cannot bring any of it back.
/// </summary>
public sealed class RaindropAccountCopies(MirrorLedger ledger, IEnumerable<IMirrorHandler> handlers, Microsoft.Extensions.Options.IOptions<RaindropOptions> options) : IAccountCopies
{
    public string Name => "raindrop";

    public async Task<int> EraseAsync(string userId, CancellationToken cancellationToken)
    {
        if (!options.Value.IsConfigured) return 0; // without a key nothing was mirrored, and nothing could be reached
        var byArea = handlers.ToDictionary(h => h.Area, StringComparer.Ordinal);
        var items = await ledger.ItemsOfAsync(userId, cancellationToken).ConfigureAwait(false);
        foreach (var (area, item) in items)
        {
            if (byArea.TryGetValue(area, out var handler))
            {
                try
                {
                    await handler.EraseAsync(item, cancellationToken).ConfigureAwait(false);
                }
                catch (RaindropException ex) when (ex.Status == 404)
                {
                    // Already gone there.
                }
            }
            await ledger.ForgetAsync(area, item, cancellationToken).ConfigureAwait(false);
        }
        return items.Count;
    }
}
