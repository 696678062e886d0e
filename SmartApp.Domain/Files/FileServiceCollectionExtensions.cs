using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Raindrop;
using SmartApp.Domain.Common.Search;
using SmartApp.Domain.Files.Adapters.Blob;
using SmartApp.Domain.Files.Adapters.Cosmos;
using SmartApp.Domain.Files.Adapters.Raindrop;
using SmartApp.Domain.Files.Ingestion;

namespace SmartApp.Domain.Files;

public static class FileServiceCollectionExtensions
{
    /// <summary>Files: bytes in Blob Storage, records and chunks in Cosmos, ingestion in process, hybrid search by Cosmos DB or in process (Search:Engine). Needs storage and the chat model.</summary>
    public static IServiceCollection AddFiles(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<FilesOptions>().Bind(configuration.GetSection(FilesOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<MiniLmEmbedder>();
        services.TryAddSingleton<IEmbedder>(sp => sp.GetRequiredService<MiniLmEmbedder>());
        services.AddSearchEngine(configuration);
        services.AddSingleton<IFileStore, CosmosFileStore>();
        services.AddSingleton<IFileContentStore, BlobFileContentStore>();
        services.AddSingleton<CosmosFileSearch>();
        // Raindrop (SmartBuckets) when Files:Provider says so and a key is set; the local search otherwise.
        services.AddRaindrop(configuration);
        services.AddRaindropClient(RaindropBuckets.Area);
        services.AddSingleton<RaindropBuckets>();
        services.AddSingleton<RaindropFileSearch>();
        services.AddSingleton<IMirrorHandler, FileMirror>();
        services.AddSmartProviderChoice<IFileSearch, FilesOptions>(o => o.Provider,
            sp => sp.GetRequiredService<RaindropFileSearch>(), sp => sp.GetRequiredService<CosmosFileSearch>());
        services.AddSmartProviderChoice<IDocumentQuestions, FilesOptions>(o => o.Provider,
            sp => sp.GetRequiredService<RaindropFileSearch>(), _ => new NoDocumentQuestions());
        services.AddSingleton<FileIngestor>();
        services.AddSingleton<IIngestionQueue, QueuedIngestion>();
        services.AddSingleton<IngestionWork>();
        services.TryAddSingleton<Common.Quotas.IQuotaGate, Common.Quotas.NoQuotas>();
        services.AddSingleton<FileService>();
        return services;
    }

}
