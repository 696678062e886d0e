using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SmartApp.Domain.Billing.Adapters.Cosmos;
using SmartApp.Domain.Billing.Adapters.Stripe;
using SmartApp.Domain.Common.Http;
using SmartApp.Domain.Common.Quotas;

namespace SmartApp.Domain.Billing;

public static class BillingServiceCollectionExtensions
{
    public const string HttpClientName = "stripe";

    /// <summary>Plans, Stripe (checkout, portal, webhooks) and the plan quotas every capability checks. Needs storage, identity and chat's usage counters.</summary>
    public static IServiceCollection AddBilling(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<BillingOptions>().Bind(configuration.GetSection(BillingOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        // The SDK retries (see StripeGateway); no breaker: a webhook that fails is delivered again by Stripe, or recovered from its events list.
        services.AddOutboundHttpClient<BillingOptions>(HttpClientName, (billing, _) => new OutboundPolicy(billing.StripeRequestTimeout) { MaxRetries = 0, Circuit = null });
        services.AddSingleton<IStripeGateway, StripeGateway>();
        services.AddSingleton<IBillingStore, CosmosBillingStore>();
        services.TryAddSingleton<SmartApp.Domain.Identity.AllowedOrigins>();
        services.AddSingleton<PlanQuotas>();
        services.AddSingleton<StripeWebhooks>();
        services.AddSingleton<BillingService>();
        services.Replace(ServiceDescriptor.Singleton<IQuotaGate>(sp => sp.GetRequiredService<PlanQuotas>()));
        return services;
    }
}
