using Microsoft.Extensions.Caching.Memory;

namespace SmartApp.Domain.Common.Raindrop;

/// <summary>
/// Whether Raindrop has all of a user's writes in an area, so a smart read can be answered there
/// without missing or resurrecting anything: true when the area's mirror found its feed empty after
/// the user's last write. Reads for a user who has just written are answered locally until then.
/// </summary>
public sealed class MirrorFreshness(MirrorLedger ledger, MirrorStatus status, IMemoryCache cache)
{
    /// <summary>
    /// Cosmos stamps writes in whole seconds (<c>_ts</c>) by its own clock; the margin covers the
    /// rounding and a small skew between that clock and this instance's.
    /// </summary>
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(2);

    public async Task<bool> HasAllWrittenBeforeAsync(string area, DateTimeOffset? lastWrite, CancellationToken cancellationToken)
    {
        if (lastWrite is null) return true; // nothing written
        var drained = await DrainedAtAsync(area, cancellationToken).ConfigureAwait(false);
        return drained is { } at && at > lastWrite.Value + Margin;
    }

    private async Task<DateTimeOffset?> DrainedAtAsync(string area, CancellationToken cancellationToken)
    {
        var here = status.Areas.TryGetValue(area, out var s) ? s.DrainedAt : null;
        // Another instance may hold the mirror: its drained time is saved in the ledger (read once a second at most).
        var saved = await cache.GetOrCreateAsync(("raindrop-drained", area), entry =>
        {
            entry.AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(1);
            entry.Size = 1; // the app's cache is size-limited
            return ledger.DrainedAtAsync(area, cancellationToken);
        }).ConfigureAwait(false);
        return here > saved || saved is null ? here : saved;
    }
}
