using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SmartApp.Domain.Common.Search;
using SmartApp.Domain.Memory.Adapters.Cosmos;

namespace SmartApp.Domain.Memory;

public static class MemoryServiceCollectionExtensions
{
    /// <summary>Memory on Cosmos with local hybrid search. Needs storage and the chat model (for session summaries).</summary>
    public static IServiceCollection AddMemory(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MemoryOptions>().Bind(configuration.GetSection(MemoryOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddMemoryCache();
        services.TryAddSingleton<MiniLmEmbedder>();
        services.TryAddSingleton<IEmbedder>(sp => sp.GetRequiredService<MiniLmEmbedder>());
        services.AddSingleton<IMemoryStore, CosmosMemoryStore>();
        services.AddSingleton<IMemorySearch, CosmosMemorySearch>();
        services.AddSingleton<SessionSummarizer>();
        services.TryAddSingleton<Common.Quotas.IQuotaGate, Common.Quotas.NoQuotas>();
        services.TryAddSingleton<Common.Quotas.KeptTotals>();
        services.AddSingleton<MemoryService>();
        return services;
    }
}
