using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using OpenAI;
using SmartApp.Domain.Chat.Adapters.Vultr;
using SmartApp.Domain.Common.Errors;

namespace SmartApp.Domain.Chat;

public static class ChatModelServiceCollectionExtensions
{
    public const string HttpClientName = "vultr";

    /// <summary>
    /// The language model as an <see cref="IChatClient"/>: Vultr through the OpenAI client, over an
    /// HttpClient with timeouts, retries that honour Retry-After, and a circuit breaker. Without an
    /// API key every call reports the model unavailable, and callers use their fallbacks.
    /// </summary>
    public static IServiceCollection AddChatModel(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<VultrOptions>().Bind(configuration.GetSection(VultrOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddHttpClient(HttpClientName)
            .AddStandardResilienceHandler()
            .Configure((HttpStandardResilienceOptions o, IServiceProvider sp) =>
            {
                var vultr = sp.GetRequiredService<IOptions<VultrOptions>>().Value;
                o.Retry.MaxRetryAttempts = 2;
                o.AttemptTimeout.Timeout = vultr.RequestTimeout;
                o.TotalRequestTimeout.Timeout = vultr.RequestTimeout * 3;
                o.CircuitBreaker.SamplingDuration = vultr.RequestTimeout * 2;
            });
        services.AddSingleton(sp =>
        {
            var vultr = sp.GetRequiredService<IOptions<VultrOptions>>().Value;
            if (!vultr.IsConfigured) return new VultrClients(null);
            var http = sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName);
            http.Timeout = Timeout.InfiniteTimeSpan; // the resilience pipeline owns timeouts
            var options = new OpenAIClientOptions
            {
                Endpoint = new Uri(vultr.BaseUrl),
                Transport = new HttpClientPipelineTransport(http),
                RetryPolicy = new ClientRetryPolicy(maxRetries: 0), // retried once, by the pipeline above
                NetworkTimeout = Timeout.InfiniteTimeSpan,
            };
            return new VultrClients(new OpenAIClient(new ApiKeyCredential(vultr.ApiKey), options));
        });
        services.AddSingleton<IModelCatalog>(sp => new VultrModelCatalog(sp.GetRequiredService<VultrClients>().Client?.GetOpenAIModelClient(),
            sp.GetRequiredService<IOptions<VultrOptions>>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<VultrModelCatalog>>()));
        services.AddSingleton<IChatClient>(sp => sp.GetRequiredService<VultrClients>().Client is { } client
            ? new VultrChatClient(client, sp.GetRequiredService<IModelCatalog>())
            : new UnavailableChatClient());
        services.AddHealthChecks().AddCheck<ModelHealthCheck>("model", tags: ["model"], timeout: Common.Health.HealthReporter.CheckTimeout);
        return services;
    }

    /// <summary>Chat: conversations on Cosmos, grounded in memory and files. Needs storage, the model, memory and files.</summary>
    public static IServiceCollection AddChat(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ChatSettings>().Bind(configuration.GetSection(ChatSettings.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IConversationStore, Adapters.Cosmos.CosmosConversationStore>();
        services.AddSingleton<IUsageStore, Adapters.Cosmos.CosmosUsageStore>();
        services.AddSingleton<ChatService>();
        return services;
    }

    /// <summary>The OpenAI client for Vultr, or null without an API key.</summary>
    private sealed record VultrClients(OpenAIClient? Client);

    /// <summary>The model when no key is configured: every call fails the way an outage does, so callers fall back.</summary>
    private sealed class UnavailableChatClient : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw Unavailable();

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw Unavailable();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose() { }

        private static UpstreamUnavailableException Unavailable() => new("The language model is not configured (Vultr:ApiKey).");
    }
}
