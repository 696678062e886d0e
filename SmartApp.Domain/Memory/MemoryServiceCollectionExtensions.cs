using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Raindrop;
using SmartApp.Domain.Common.Search;
using SmartApp.Domain.Memory.Adapters.Cosmos;
using SmartApp.Domain.Memory.Adapters.Raindrop;

namespace SmartApp.Domain.Memory;

public static class MemoryServiceCollectionExtensions
{
    /// <summary>Memory on Cosmos with hybrid search by Cosmos DB or in process (Search:Engine). Needs storage (and its work queues) and the chat model (for summaries and learning).</summary>
    public static IServiceCollection AddMemory(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MemoryOptions>().Bind(configuration.GetSection(MemoryOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddMemoryCache();
        services.TryAddSingleton<MiniLmEmbedder>();
        services.TryAddSingleton<IEmbedder>(sp => sp.GetRequiredService<MiniLmEmbedder>());
        services.AddSearchEngine(configuration);
        services.AddSingleton<IMemoryStore, CosmosMemoryStore>();
        services.AddSingleton<CosmosMemorySearch>();
        // Raindrop (SmartMemory) when Memory:Provider says so and a key is set; the local search otherwise.
        services.AddRaindrop(configuration);
        services.AddRaindropClient(RaindropSmartMemory.Area);
        services.AddSingleton<RaindropSmartMemory>();
        services.AddSingleton<RaindropMemorySearch>();
        services.AddSingleton<IMirrorHandler, MemoryMirror>();
        services.AddSmartProviderChoice<IMemorySearch, MemoryOptions>(o => o.Provider,
            sp => sp.GetRequiredService<RaindropMemorySearch>(), sp => sp.GetRequiredService<CosmosMemorySearch>());
        services.AddSingleton<SessionSummarizer>();
        services.TryAddSingleton<Common.Quotas.IQuotaGate, Common.Quotas.NoQuotas>();
        services.TryAddSingleton<Common.Quotas.KeptTotals>();
        services.AddSingleton<MemoryService>();
        // Learning from chat turns: asked for on a queue, run by its queue-triggered function.
        services.TryAddSingleton<Learning.ILearningQueue, Learning.QueuedLearning>();
        services.AddSingleton<Learning.FactExtractor>();
        services.AddSingleton<Learning.MemoryLearning>();
        return services;
    }
}
