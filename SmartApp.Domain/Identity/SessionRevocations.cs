using System.Collections.Concurrent;

namespace SmartApp.Domain.Identity;

/// <summary>
/// Sessions signed out on this instance, remembered until their tokens would have expired anyway
/// (at most a day). Kept in a table of their own, never in the size-limited cache that holds verified
/// tokens and users, so no amount of cache pressure can bring a signed-out session back. Expired
/// entries are dropped as new ones arrive. With WorkOS the session is also revoked at WorkOS, so its
/// refresh token stops working everywhere and another instance stops accepting its (short-lived)
/// access token when that expires.
/// </summary>
public sealed class SessionRevocations(TimeProvider clock)
{
    private static readonly TimeSpan Longest = TimeSpan.FromDays(1);
    private const int PruneEvery = 256;

    private readonly ConcurrentDictionary<string, DateTimeOffset> _revoked = new(StringComparer.Ordinal);
    private int _added;

    public void Revoke(string sessionId, DateTimeOffset tokensExpireAt)
    {
        var now = clock.GetUtcNow();
        var until = tokensExpireAt - now > Longest ? now + Longest : tokensExpireAt;
        if (until <= now) return;
        _revoked.AddOrUpdate(sessionId, until, (_, known) => known > until ? known : until);
        if (Interlocked.Increment(ref _added) % PruneEvery == 0) Prune(now);
    }

    public bool IsRevoked(string sessionId) => _revoked.TryGetValue(sessionId, out var until) && until > clock.GetUtcNow();

    /// <summary>How many sign-outs are remembered now (expired ones may linger until the next prune).</summary>
    public int Count => _revoked.Count;

    private void Prune(DateTimeOffset now)
    {
        foreach (var (session, until) in _revoked)
            if (until <= now) _revoked.TryRemove(new KeyValuePair<string, DateTimeOffset>(session, until));
    }
}
