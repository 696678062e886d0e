using System.Net.Http.Headers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Health;
using SmartApp.Domain.Common.Http;

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

    /// <summary>
    /// The named HttpClient of one area: Bearer key, then the outbound pipeline with retries as Raindrop's own SDK does
    /// them (409 included), a circuit breaker of the area's own (its state read by health) and a per-attempt timeout.
    /// Inside it, <see cref="RaindropAnswerCheck"/> makes a 200 that reports failure a failure.
    /// </summary>
    public static IHttpClientBuilder AddRaindropClient(this IServiceCollection services, string area) =>
        services.AddOutboundHttpClient<RaindropOptions>(RaindropClient.ClientName(area),
                (options, sp) => new OutboundPolicy(options.AttemptTimeout)
                {
                    RetryConflicts = true,
                    RetryDelay = TimeSpan.FromMilliseconds(500),
                    Circuit = new OutboundCircuit
                    {
                        FailureRatio = 0.5,
                        MinimumThroughput = 4,
                        BreakDuration = options.BreakDuration,
                        StateProvider = sp.GetRequiredService<RaindropCircuits>().For(area),
                    },
                },
                (options, http) =>
                {
                    http.BaseAddress = new Uri(options.BaseUrl.TrimEnd('/') + "/");
                    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
                    http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
                })
            .AddHttpMessageHandler<RaindropAnswerCheck>();
}
