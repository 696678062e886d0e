using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Raindrop;
using SmartApp.Domain.Data.Adapters.Cosmos;
using SmartApp.Domain.Data.Adapters.Raindrop;

namespace SmartApp.Domain.Data;

public static class DataServiceCollectionExtensions
{
    /// <summary>Tables of records on Cosmos, structured queries, questions via the model. Needs storage and the model.</summary>
    public static IServiceCollection AddData(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DataOptions>().Bind(configuration.GetSection(DataOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IRecordStore, CosmosRecordStore>();
        // Raindrop (SmartSQL) when Data:Provider says so and a key is set: tables mirrored, questions answered there first.
        services.AddRaindrop(configuration);
        services.AddRaindropClient(RaindropSmartSql.Area);
        services.AddSingleton<RaindropSmartSql>();
        services.AddSingleton<RaindropDataQuestions>();
        services.AddSingleton<IMirrorHandler, DataMirror>();
        services.AddSmartProviderChoice<IDataQuestions, DataOptions>(o => o.Provider,
            sp => sp.GetRequiredService<RaindropDataQuestions>(), _ => new NoDataQuestions());
        services.AddMemoryCache();
        services.TryAddSingleton<Common.Quotas.IQuotaGate, Common.Quotas.NoQuotas>();
        services.TryAddSingleton<Common.Quotas.KeptTotals>();
        services.AddSingleton<DataService>();
        return services;
    }
}
