using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenAI;
using SmartApp.Domain.Common.Http;
using SmartApp.Domain.Model.Adapters.Vultr;

namespace SmartApp.Domain.Model;

public static class ModelServiceCollectionExtensions
{
    public const string HttpClientName = "vultr";

    /// <summary>
    /// The language model every capability uses: Vultr through the OpenAI client as an <see cref="IChatClient"/>, over the
    /// outbound-HTTP pipeline (timeouts, retries that honour Retry-After, a circuit breaker), and
    /// <see cref="LanguageModel"/>, the one way to call it with a time budget and learn whether to fall back. Without an
    /// API key every call reports the model unavailable, and callers use their fallbacks.
    /// </summary>
    public static IServiceCollection AddLanguageModel(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<VultrOptions>().Bind(configuration.GetSection(VultrOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOutboundHttpClient<VultrOptions>(HttpClientName, (vultr, _) => new OutboundPolicy(vultr.RequestTimeout)
        {
            TotalTimeout = vultr.RequestTimeout * 3,
            Circuit = new OutboundCircuit { SamplingDuration = vultr.RequestTimeout * 2 },
        });
        services.AddSingleton(sp =>
        {
            var vultr = sp.GetRequiredService<IOptions<VultrOptions>>().Value;
            if (!vultr.IsConfigured) return new VultrClients(null);
            var options = new OpenAIClientOptions
            {
                Endpoint = new Uri(vultr.BaseUrl),
                Transport = new HttpClientPipelineTransport(sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName)),
                RetryPolicy = new ClientRetryPolicy(maxRetries: 0), // retried by the outbound pipeline
                NetworkTimeout = Timeout.InfiniteTimeSpan,
            };
            return new VultrClients(new OpenAIClient(new ApiKeyCredential(vultr.ApiKey), options));
        });
        services.AddSingleton<IModelCatalog>(sp => new VultrModelCatalog(sp.GetRequiredService<VultrClients>().Client?.GetOpenAIModelClient(),
            sp.GetRequiredService<IOptions<VultrOptions>>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<VultrModelCatalog>>()));
        services.AddSingleton<IChatClient>(sp => sp.GetRequiredService<VultrClients>().Client is { } client
            ? new VultrChatClient(client, sp.GetRequiredService<IModelCatalog>())
            : new UnavailableModel());
        services.AddSingleton<LanguageModel>();
        services.AddHealthChecks().AddCheck<ModelHealthCheck>("model", tags: ["model"], timeout: Common.Health.HealthReporter.CheckTimeout);
        return services;
    }

    /// <summary>The OpenAI client for Vultr, or null without an API key.</summary>
    private sealed record VultrClients(OpenAIClient? Client);
}
