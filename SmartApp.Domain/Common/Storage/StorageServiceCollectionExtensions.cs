using System.Net.Http;
using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Health;

namespace SmartApp.Domain.Common.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>One CosmosClient and one BlobServiceClient for the app, their options validated at start, and their health checks.</summary>
    public static IServiceCollection AddStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<CosmosOptions>().Bind(configuration.GetSection(CosmosOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<BlobStorageOptions>().Bind(configuration.GetSection(BlobStorageOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<AzureIdentityOptions>().Bind(configuration.GetSection(AzureIdentityOptions.Section));

        services.AddSingleton<TokenCredential>(sp => new DefaultAzureCredential(new DefaultAzureCredentialOptions
        {
            ManagedIdentityClientId = sp.GetRequiredService<IOptions<AzureIdentityOptions>>().Value.ManagedIdentityClientId,
        }));
        services.AddSingleton(sp => CreateCosmosClient(sp.GetRequiredService<IOptions<CosmosOptions>>().Value, sp));
        services.AddSingleton(sp => CreateBlobServiceClient(sp.GetRequiredService<IOptions<BlobStorageOptions>>().Value, sp));
        services.AddSingleton(sp => CreateQueueServiceClient(sp.GetRequiredService<IOptions<BlobStorageOptions>>().Value, sp));
        services.AddSingleton<WorkQueue>();
        services.AddSingleton<CosmosStore>();
        services.AddMemoryCache();
        services.AddSingleton<StoredDataMigration>();
        services.AddSingleton<IProviderCheckpoints, ProviderCheckpoints>();
        services.AddSingleton<BlobStore>();
        services.AddHostedService<StorageWarmUp>();

        // A check that runs past its timeout reports Unhealthy ("A timeout occurred while running check").
        services.AddHealthChecks()
            .AddCheck<CosmosHealthCheck>("cosmos", tags: ["storage"], timeout: HealthReporter.CheckTimeout)
            .AddCheck<BlobHealthCheck>("blob", tags: ["storage"], timeout: HealthReporter.CheckTimeout);
        services.AddSingleton<HealthReporter>();
        services.AddSingleton(TimeProvider.System);
        return services;
    }

    private static CosmosClient CreateCosmosClient(CosmosOptions options, IServiceProvider services)
    {
        var clientOptions = new CosmosClientOptions
        {
            ApplicationName = "SmartApp",
            UseSystemTextJsonSerializerWithOptions = new System.Text.Json.JsonSerializerOptions(JsonDefaults.Options),
            RequestTimeout = options.RequestTimeout,
            MaxRetryAttemptsOnRateLimitedRequests = 5,
            MaxRetryWaitTimeOnRateLimitedRequests = TimeSpan.FromSeconds(10),
        };
        if (options.IsLocalEmulator)
        {
            // Off Azure there is no instance metadata service: the SDK must not probe for one.
            Environment.SetEnvironmentVariable("COSMOS_DISABLE_IMDS_ACCESS", "true");
            // The local emulator speaks the gateway protocol only, on its one endpoint, with a
            // self-signed certificate. Accepting that certificate is limited to a loopback endpoint.
            clientOptions.ConnectionMode = ConnectionMode.Gateway;
            clientOptions.LimitToEndpoint = true;
            clientOptions.HttpClientFactory = () => new HttpClient(new SocketsHttpHandler
            {
                SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            });
        }
        return string.IsNullOrEmpty(options.AccountKey)
            ? new CosmosClient(options.AccountEndpoint, services.GetRequiredService<TokenCredential>(), clientOptions)
            : new CosmosClient(options.AccountEndpoint, options.AccountKey, clientOptions);
    }

    private static BlobServiceClient CreateBlobServiceClient(BlobStorageOptions options, IServiceProvider services)
    {
        var clientOptions = new BlobClientOptions
        {
            Retry = { MaxRetries = 3, NetworkTimeout = TimeSpan.FromSeconds(30), Mode = Azure.Core.RetryMode.Exponential },
        };
        return string.IsNullOrWhiteSpace(options.ConnectionString)
            ? new BlobServiceClient(new Uri(options.BlobServiceUri!), services.GetRequiredService<TokenCredential>(), clientOptions)
            : new BlobServiceClient(options.ConnectionString, clientOptions);
    }

    /// <summary>The same account's queues: base64 messages, as the Functions host's queue trigger reads them.</summary>
    private static QueueServiceClient CreateQueueServiceClient(BlobStorageOptions options, IServiceProvider services)
    {
        var clientOptions = new QueueClientOptions
        {
            MessageEncoding = QueueMessageEncoding.Base64,
            Retry = { MaxRetries = 3, NetworkTimeout = TimeSpan.FromSeconds(10), Mode = Azure.Core.RetryMode.Exponential },
        };
        return string.IsNullOrWhiteSpace(options.ConnectionString)
            ? new QueueServiceClient(options.QueueServiceEndpoint(), services.GetRequiredService<TokenCredential>(), clientOptions)
            : new QueueServiceClient(options.ConnectionString, clientOptions);
    }

    /// <summary>Starts creating the database, containers and blob containers as the app starts, without holding start-up.</summary>
    private sealed class StorageWarmUp(CosmosStore cosmos, BlobStore blobs) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            _ = cosmos.EnsureCreatedAsync(CancellationToken.None).ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
            _ = blobs.EnsureCreatedAsync(CancellationToken.None).ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
