using System.Net;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SmartApp.Domain.Common.Storage;

/// <summary>
/// The app's Cosmos database. Creates the database and every container on first use (and retries
/// that on a later call if storage was down), so start-up never blocks on storage.
/// </summary>
public sealed partial class CosmosStore
{
    private readonly CosmosClient _client;
    private readonly IOptions<CosmosOptions> _options;
    private readonly ILogger<CosmosStore> _logger;

    private readonly RetryingLazy<Database> _database;

    public CosmosStore(CosmosClient client, IOptions<CosmosOptions> options, ILogger<CosmosStore> logger)
    {
        _client = client;
        _options = options;
        _logger = logger;
        _database = new RetryingLazy<Database>(CreateAsync);
    }

    public Database Database => _client.GetDatabase(_options.Value.DatabaseName);

    /// <summary>The container, once the database and containers are known to exist.</summary>
    public async ValueTask<Container> GetContainerAsync(CosmosContainerSpec spec, CancellationToken cancellationToken) =>
        (await _database.GetAsync(cancellationToken).ConfigureAwait(false)).GetContainer(spec.Name);

    public Task EnsureCreatedAsync(CancellationToken cancellationToken) => _database.GetAsync(cancellationToken);

    private async Task<Database> CreateAsync()
    {
        var name = _options.Value.DatabaseName;
        try
        {
            var database = (await _client.CreateDatabaseIfNotExistsAsync(name).ConfigureAwait(false)).Database;
            foreach (var spec in CosmosContainers.All)
            {
                var response = await database.CreateContainerIfNotExistsAsync(PropertiesOf(spec)).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.Created)
                    LogContainerCreated(_logger, name, spec.Name);
            }
            return database;
        }
        catch (Exception ex)
        {
            LogCreationFailed(_logger, ex, name);
            throw;
        }
    }

    /// <summary>
    /// A container as the app needs it (infra/app/cosmos.bicep declares the same): a searched container's vectors are
    /// indexed for vector search (DiskANN, cosine) and kept out of the range index, and its text is full-text indexed.
    /// </summary>
    internal static ContainerProperties PropertiesOf(CosmosContainerSpec spec)
    {
        var properties = new ContainerProperties(spec.Name, spec.PartitionKeyPaths) { DefaultTimeToLive = spec.DefaultTimeToLiveSeconds };
        if (spec.Search is { } search)
        {
            properties.VectorEmbeddingPolicy = new VectorEmbeddingPolicy(
                [new Embedding { Path = search.VectorPath, DataType = VectorDataType.Float32, DistanceFunction = DistanceFunction.Cosine, Dimensions = search.Dimensions }]);
            properties.FullTextPolicy = new FullTextPolicy { DefaultLanguage = "en-US", FullTextPaths = [new FullTextPath { Path = search.TextPath, Language = "en-US" }] };
            properties.IndexingPolicy.VectorIndexes.Add(new VectorIndexPath { Path = search.VectorPath, Type = VectorIndexType.DiskANN });
            properties.IndexingPolicy.FullTextIndexes.Add(new FullTextIndexPath { Path = search.TextPath });
            properties.IndexingPolicy.ExcludedPaths.Add(new ExcludedPath { Path = search.VectorPath + "/*" });
        }
        return properties;
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Created Cosmos container {Database}/{Container}")]
    private static partial void LogContainerCreated(ILogger logger, string database, string container);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Could not create the Cosmos database {Database} and its containers; will retry on next use")]
    private static partial void LogCreationFailed(ILogger logger, Exception exception, string database);
}
