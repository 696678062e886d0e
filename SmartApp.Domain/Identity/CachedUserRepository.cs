using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace SmartApp.Domain.Identity;

/// <summary>
/// Keeps user records in memory for <see cref="AuthOptions.UserCacheDuration"/>: the profile is read
/// on nearly every app start and screen, and changes rarely. Writes through this instance refresh
/// the entry at once; a change made by another instance shows here within the cache duration.
/// </summary>
public sealed class CachedUserRepository(IUserRepository inner, IMemoryCache cache, IOptions<AuthOptions> options) : IUserRepository
{
    public async Task<User?> FindAsync(string userId, CancellationToken cancellationToken)
    {
        if (cache.TryGetValue(Key(userId), out User? cached)) return cached;
        var user = await inner.FindAsync(userId, cancellationToken).ConfigureAwait(false);
        if (user is not null) Remember(user);
        return user;
    }

    public async Task<User> UpsertFromSignInAsync(UserSignIn signIn, CancellationToken cancellationToken)
    {
        var user = await inner.UpsertFromSignInAsync(signIn, cancellationToken).ConfigureAwait(false);
        Remember(user);
        return user;
    }

    public async Task<bool> UpdateProfileAsync(string userId, string email, string? name, CancellationToken cancellationToken)
    {
        var found = await inner.UpdateProfileAsync(userId, email, name, cancellationToken).ConfigureAwait(false);
        cache.Remove(Key(userId));
        return found;
    }

    public async Task SetPlanAsync(string userId, string plan, CancellationToken cancellationToken)
    {
        await inner.SetPlanAsync(userId, plan, cancellationToken).ConfigureAwait(false);
        cache.Remove(Key(userId));
    }

    public async Task DeleteAsync(string userId, CancellationToken cancellationToken)
    {
        cache.Remove(Key(userId));
        await inner.DeleteAsync(userId, cancellationToken).ConfigureAwait(false);
        cache.Remove(Key(userId));
    }

    private void Remember(User user)
    {
        if (options.Value.UserCacheDuration > TimeSpan.Zero)
            cache.Set(Key(user.Id), user, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = options.Value.UserCacheDuration, Size = 1 });
    }

    private static string Key(string userId) => "user:" + userId;
}
