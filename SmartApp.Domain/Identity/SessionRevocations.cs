using Microsoft.Extensions.Caching.Memory;

namespace SmartApp.Domain.Identity;

/// <summary>
/// Sessions signed out on this instance, remembered until their tokens would have expired anyway.
/// With WorkOS the session is also revoked at WorkOS, so its refresh token stops working everywhere
/// and another instance stops accepting its (short-lived) access token when that expires.
/// </summary>
public sealed class SessionRevocations(IMemoryCache cache, TimeProvider clock)
{
    private static readonly TimeSpan Longest = TimeSpan.FromDays(1);

    public void Revoke(string sessionId, DateTimeOffset tokensExpireAt)
    {
        var remaining = tokensExpireAt - clock.GetUtcNow();
        if (remaining > Longest) remaining = Longest;
        if (remaining > TimeSpan.Zero)
            cache.Set(Key(sessionId), true, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = remaining, Size = 1 });
    }

    public bool IsRevoked(string sessionId) => cache.TryGetValue(Key(sessionId), out _);

    private static string Key(string sessionId) => "revoked-session:" + sessionId;
}
