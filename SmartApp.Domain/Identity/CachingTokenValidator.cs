using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;

namespace SmartApp.Domain.Identity;

/// <summary>
/// Remembers tokens already verified, until they expire (at most <see cref="MaxCacheFor"/>): a
/// client sends the same token on every request, and a token that verified once stays valid until
/// its expiry. Keyed by the token's SHA-256, so no token is kept in memory. Refusals are not cached.
/// </summary>
public sealed class CachingTokenValidator(IAccessTokenValidator inner, IMemoryCache cache, TimeProvider clock) : IAccessTokenValidator
{
    public static readonly TimeSpan MaxCacheFor = TimeSpan.FromMinutes(5);

    public async Task<CurrentUser?> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        var key = "token:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        if (cache.TryGetValue(key, out CurrentUser? known) && known!.ExpiresAt > clock.GetUtcNow()) return known;
        var user = await inner.ValidateAsync(token, cancellationToken).ConfigureAwait(false);
        if (user is not null)
        {
            var remaining = user.ExpiresAt - clock.GetUtcNow();
            var keepFor = remaining < MaxCacheFor ? remaining : MaxCacheFor;
            if (keepFor > TimeSpan.Zero)
                cache.Set(key, user, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = keepFor, Size = 1 });
        }
        return user;
    }
}
