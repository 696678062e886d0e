using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Time.Testing;
using SmartApp.Domain.Identity;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class SessionRevocationsTests
{
    [Fact]
    public async Task A_signed_out_session_stays_refused_however_full_the_token_cache_gets_until_its_tokens_expire()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-29T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var revocations = new SessionRevocations(clock);
        revocations.Revoke("session_1", clock.GetUtcNow().AddMinutes(5));

        // The size-limited cache that holds verified tokens and users, under pressure: it evicts what it holds.
        using var cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = 100 });
        for (var i = 0; i < 10_000; i++) cache.Set($"token:{i}", i, new MemoryCacheEntryOptions { Size = 1 });
        cache.Compact(1.0);
        for (var i = 0; i < 5_000; i++) revocations.Revoke($"other_{i}", clock.GetUtcNow().AddSeconds(1));
        await Task.Yield();

        Assert.True(revocations.IsRevoked("session_1"));
        Assert.False(revocations.IsRevoked("session_2"));
        clock.Advance(TimeSpan.FromMinutes(6));
        Assert.False(revocations.IsRevoked("session_1")); // its tokens have expired anyway
        revocations.Revoke("session_3", clock.GetUtcNow().AddMinutes(1)); // ...and expired entries are dropped as new ones come
        for (var i = 0; i < 300; i++) revocations.Revoke($"later_{i}", clock.GetUtcNow().AddMinutes(1));
        Assert.True(revocations.Count <= 302, $"{revocations.Count} remembered");
    }
}
