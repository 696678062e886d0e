using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SmartApp.Domain.Data.Adapters.Cosmos;

namespace SmartApp.Domain.Data;

public static class DataServiceCollectionExtensions
{
    /// <summary>Tables of records on Cosmos, structured queries, questions via the model. Needs storage and the model.</summary>
    public static IServiceCollection AddData(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DataOptions>().Bind(configuration.GetSection(DataOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IRecordStore, CosmosRecordStore>();
        services.AddMemoryCache();
        services.TryAddSingleton<Common.Quotas.IQuotaGate, Common.Quotas.NoQuotas>();
        services.TryAddSingleton<Common.Quotas.KeptTotals>();
        services.AddSingleton<DataService>();
        return services;
    }
}
