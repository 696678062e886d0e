using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Timeout;
using SmartApp.Domain.Common.Health;

namespace SmartApp.Domain.Common.Raindrop;

public static class RaindropServiceCollectionExtensions
{
    /// <summary>Raindrop's options, the change-feed mirror and its health report. Capabilities add their area's client and handler.</summary>
    public static IServiceCollection AddRaindrop(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(d => d.ServiceType == typeof(RaindropMirror))) return services;
        services.AddOptions<RaindropOptions>().Bind(configuration.GetSection(RaindropOptions.Section)).ValidateDataAnnotations()
            .Validate(o => !o.IsConfigured || !string.IsNullOrWhiteSpace(o.Version),
                "Raindrop:Version is required when Raindrop:ApiKey is set: the version id of the Raindrop application (every bucket, memory and SQL call names it).")
            .ValidateOnStart();
        services.AddTransient<RaindropAnswerCheck>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<RaindropCircuits>();
        services.AddSingleton<MirrorLedger>();
        services.AddSingleton<MirrorStatus>();
        services.AddMemoryCache();
        services.AddSingleton<MirrorFreshness>();
        services.AddSingleton<Identity.IAccountCopies, RaindropAccountCopies>();
        services.AddSingleton<RaindropMirror>();
        services.AddHealthChecks().AddCheck<RaindropMirrorHealthCheck>("raindrop", tags: ["smart"], timeout: HealthReporter.CheckTimeout);
        return services;
    }

    /// <summary>The Raindrop implementation of a port when the capability's provider (from its options) is Raindrop and a key is set; the Azure one otherwise.</summary>
    public static IServiceCollection AddProviderChoice<TService, TOptions>(this IServiceCollection services, Func<TOptions, SmartProvider> provider,
        Func<IServiceProvider, TService> onRaindrop, Func<IServiceProvider, TService> onAzure)
        where TService : class where TOptions : class =>
        services.AddSingleton(sp =>
            sp.GetRequiredService<IOptions<RaindropOptions>>().Value.Serves(provider(sp.GetRequiredService<IOptions<TOptions>>().Value)) ? onRaindrop(sp) : onAzure(sp));

    /// <summary>
    /// The named HttpClient of one area: Bearer key, then retries as Raindrop's own SDK does them
    /// (connection errors, 408, 409, 429, 5xx, or <c>x-should-retry</c>; waits from <c>retry-after-ms</c>
    /// or <c>Retry-After</c> up to 60 s, else 0.5 s doubling with jitter), a circuit breaker of its own,
    /// and a per-attempt timeout. Inside it, <see cref="RaindropAnswerCheck"/> makes a 200 that reports failure a failure.
    /// </summary>
    public static IHttpClientBuilder AddRaindropClient(this IServiceCollection services, string area)
    {
        var client = services.AddHttpClient(RaindropClient.ClientName(area), (sp, http) =>
            {
                var options = sp.GetRequiredService<IOptions<RaindropOptions>>().Value;
                http.BaseAddress = new Uri(options.BaseUrl.TrimEnd('/') + "/");
                http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
                http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
                http.Timeout = Timeout.InfiniteTimeSpan; // the pipeline's timeouts rule
            });
        client.AddResilienceHandler(RaindropClient.ClientName(area), (pipeline, context) =>
            {
                var options = context.ServiceProvider.GetRequiredService<IOptions<RaindropOptions>>().Value;
                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = 2,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = TimeSpan.FromMilliseconds(500),
                    MaxDelay = TimeSpan.FromSeconds(8),
                    ShouldRetryAfterHeader = false,
                    ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome)),
                    DelayGenerator = args => ValueTask.FromResult(ServerDelay(args.Outcome.Result)),
                });
                pipeline.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
                {
                    FailureRatio = 0.5,
                    MinimumThroughput = 4,
                    SamplingDuration = TimeSpan.FromSeconds(30),
                    BreakDuration = options.BreakDuration,
                    StateProvider = context.ServiceProvider.GetRequiredService<RaindropCircuits>().For(area),
                });
                pipeline.AddTimeout(options.AttemptTimeout);
            });
        return client.AddHttpMessageHandler<RaindropAnswerCheck>();
    }

    private static bool ShouldRetry(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException or TimeoutRejectedException } => true,
        { Result: { } response } when response.Headers.TryGetValues("x-should-retry", out var says) =>
            string.Equals(says.FirstOrDefault(), "true", StringComparison.OrdinalIgnoreCase),
        { Result: { } response } => (int)response.StatusCode is 408 or 409 or 429 or >= 500,
        _ => false,
    };

    /// <summary>The server's wait (<c>retry-after-ms</c>, then <c>Retry-After</c> seconds or date) when it is between 0 and 60 s; otherwise the backoff.</summary>
    private static TimeSpan? ServerDelay(HttpResponseMessage? response)
    {
        if (response is null) return null;
        TimeSpan? wait = null;
        if (response.Headers.TryGetValues("retry-after-ms", out var milliseconds)
            && double.TryParse(milliseconds.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms))
            wait = TimeSpan.FromMilliseconds(ms);
        else if (response.Headers.RetryAfter is { } retryAfter)
            wait = retryAfter.Delta ?? (retryAfter.Date is { } date ? date - DateTimeOffset.UtcNow : null);
        return wait is { } w && w >= TimeSpan.Zero && w <= TimeSpan.FromSeconds(60) ? w : null;
    }
}
