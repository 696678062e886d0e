using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SmartApp.Domain.Billing.Adapters.Cosmos;
using SmartApp.Domain.Billing.Adapters.Stripe;
using SmartApp.Domain.Common.Quotas;

namespace SmartApp.Domain.Billing;

public static class BillingServiceCollectionExtensions
{
    public const string HttpClientName = "stripe";

    /// <summary>Plans, Stripe and quotas. Needs storage, identity and chat's usage counters.</summary>
    public static IServiceCollection AddBilling(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<BillingOptions>().Bind(configuration.GetSection(BillingOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddHttpClient(HttpClientName, http => http.Timeout = TimeSpan.FromSeconds(20));
        services.AddSingleton<IStripeGateway, StripeGateway>();
        services.AddSingleton<IBillingStore, CosmosBillingStore>();
        services.TryAddSingleton<SmartApp.Domain.Identity.AllowedOrigins>();
        services.AddSingleton<BillingService>();
        services.Replace(ServiceDescriptor.Singleton<IQuotaGate>(sp => sp.GetRequiredService<BillingService>()));
        return services;
    }
}
