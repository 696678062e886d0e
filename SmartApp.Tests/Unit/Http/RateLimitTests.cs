using System.Threading.RateLimiting;
using SmartApp.Functions.Http;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class RateLimitTests
{
    [Fact]
    public void Each_user_has_their_own_bucket_and_an_empty_bucket_says_when_to_retry()
    {
        using var limiter = RateLimitMiddleware.Create(perMinute: 5);
        for (var i = 0; i < 5; i++)
            using (var lease = limiter.AttemptAcquire("alice")) Assert.True(lease.IsAcquired);
        using (var refused = limiter.AttemptAcquire("alice"))
        {
            Assert.False(refused.IsAcquired);
            Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) && retryAfter > TimeSpan.Zero);
        }
        using var bob = limiter.AttemptAcquire("bob");
        Assert.True(bob.IsAcquired);
    }
}
