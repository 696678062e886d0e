using System.Threading.RateLimiting;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Identity;

namespace SmartApp.Functions.Http;

/// <summary>
/// A token bucket per signed-in user on this instance (<see cref="RateLimitOptions.RequestsPerMinute"/>,
/// bursts up to that many): past it, 429 with Retry-After. Anonymous requests are not counted here.
/// </summary>
internal sealed class RateLimitMiddleware(IOptions<RateLimitOptions> options) : IFunctionsWorkerMiddleware, IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter = Create(options.Value.RequestsPerMinute);

    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        if (context.GetHttpContext()?.SignedInUser() is { } user)
        {
            using var lease = _limiter.AttemptAcquire(user.UserId);
            if (!lease.IsAcquired)
            {
                var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                throw new RateLimitedException("Too many requests; slow down.", retryAfter);
            }
        }
        await next(context).ConfigureAwait(false);
    }

    internal static PartitionedRateLimiter<string> Create(int perMinute) =>
        PartitionedRateLimiter.Create<string, string>(userId => RateLimitPartition.GetTokenBucketLimiter(userId, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = perMinute,
            TokensPerPeriod = Math.Max(1, perMinute / 60),
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));

    public void Dispose() => _limiter.Dispose();
}
