using System.Runtime.CompilerServices;
using Microsoft.Extensions.Caching.Memory;

namespace SmartApp.Domain.Common.Quotas;

/// <summary>
/// The plan's limit on things a space keeps (memories, records), checked before each new one. The
/// total is read from the store at most once a minute per space and instance and kept current with
/// this instance's own writes in between, so a write costs no count query; a delete makes the next
/// write read it again. Writes on other instances show within the minute.
/// </summary>
public sealed class KeptTotals(IQuotaGate quotas, IMemoryCache cache)
{
    private static readonly TimeSpan Refresh = TimeSpan.FromMinutes(1);

    /// <summary>Refuses (402) when one more would pass the plan's limit; call <see cref="Kept.Added"/> once it is written.</summary>
    public async Task<Kept> EnsureRoomForOneAsync(string ownerId, QuotaKind kind, Func<CancellationToken, Task<long>> count, CancellationToken cancellationToken)
    {
        var total = await cache.GetOrCreateAsync(Key(ownerId, kind), async entry =>
        {
            entry.AbsoluteExpirationRelativeToNow = Refresh;
            entry.Size = 1;
            return new StrongBox<long>(await count(cancellationToken).ConfigureAwait(false));
        }).ConfigureAwait(false);
        await quotas.EnsureWithinAsync(ownerId, kind, Interlocked.Read(ref total!.Value) + 1, cancellationToken).ConfigureAwait(false);
        return new Kept(total);
    }

    /// <summary>After a delete: the next check reads the total again.</summary>
    public void Removed(string ownerId, QuotaKind kind) => cache.Remove(Key(ownerId, kind));

    private static (string, QuotaKind, string) Key(string ownerId, QuotaKind kind) => (nameof(KeptTotals), kind, ownerId);

    /// <summary>The total a checked write adds to.</summary>
    public sealed class Kept(StrongBox<long> total)
    {
        public void Added() => Interlocked.Increment(ref total.Value);
    }
}
