using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Http;
using SmartApp.Domain.Identity.Adapters.Blob;
using SmartApp.Domain.Identity.Adapters.Cosmos;
using SmartApp.Domain.Identity.Adapters.WorkOS;

namespace SmartApp.Domain.Identity;

public static class IdentityServiceCollectionExtensions
{
    public static IServiceCollection AddIdentity(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        services.AddOptions<AuthOptions>()
            .Bind(configuration.GetSection(AuthOptions.Section))
            .ValidateDataAnnotations()
            .Validate(o => o.Mode != AuthMode.Demo || o.AllowDemoOutsideDevelopment || environment.IsDevelopment(),
                "Auth:Mode is Demo outside the Development environment; set Auth:AllowDemoOutsideDevelopment to allow it.")
            .ValidateOnStart();

        services.AddOptions<OrganizationOptions>().Bind(configuration.GetSection(OrganizationOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<OrganizationAccess>();
        services.AddSingleton<SpaceAccess>();

        services.AddMemoryCache(o => o.SizeLimit = 100_000);
        services.AddSingleton<CosmosUserRepository>();
        services.AddSingleton<IUserRepository>(sp => ActivatorUtilities.CreateInstance<CachedUserRepository>(sp, sp.GetRequiredService<CosmosUserRepository>()));
        services.AddSingleton<ISigningKeyStore, BlobSigningKeyStore>();
        services.AddSingleton<DemoTokenService>();
        services.TryAddSingleton<AllowedOrigins>();
        services.AddSingleton<IdentityService>();
        services.AddSingleton<SessionRevocations>();
        services.AddSingleton<IAccountDataStore, Adapters.Storage.StorageAccountDataStore>();
        services.AddSingleton<IAccountDeletionStore, CosmosAccountDeletionStore>();
        services.AddSingleton<AccountService>();
        services.AddSingleton<UserSync>();

        // The WorkOS adapter's settings are required only when Auth:Mode chooses it.
        services.AddOptions<WorkOSOptions>().Bind(configuration.GetSection(WorkOSOptions.Section)).ValidateDataAnnotations()
            .Validate<IOptions<AuthOptions>>((workOS, auth) => auth.Value.Mode != AuthMode.WorkOS || !string.IsNullOrWhiteSpace(workOS.ClientId),
                "WorkOS:ClientId is required in WorkOS mode.")
            .Validate<IOptions<AuthOptions>>((workOS, auth) => auth.Value.Mode != AuthMode.WorkOS || !string.IsNullOrWhiteSpace(workOS.ApiKey),
                "WorkOS:ApiKey is required in WorkOS mode.")
            .ValidateOnStart();
        // Retries honour Retry-After; a code exchange is not retried once WorkOS has answered it.
        services.AddOutboundHttpClient<WorkOSOptions>(nameof(WorkOSClient),
                (workOS, _) => new OutboundPolicy(workOS.RequestTimeout) { TotalTimeout = workOS.RequestTimeout * 3, RetryUnsafeMethods = false },
                (workOS, http) =>
                {
                    http.BaseAddress = new Uri(workOS.ApiBaseUrl.TrimEnd('/') + "/");
                    http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", workOS.ApiKey);
                })
            .AddTypedClient<WorkOSClient>();
        services.AddSingleton<WorkOSTokenValidator>();
        services.AddProviderChoice<IIdentityProvider, AuthOptions>((auth, _) => auth.Mode == AuthMode.WorkOS,
            sp => sp.GetRequiredService<WorkOSClient>(), _ => new NoIdentityProvider());
        services.AddProviderChoice<IAccessTokenValidator, AuthOptions>((auth, _) => auth.Mode == AuthMode.WorkOS,
            sp => Cached(sp, sp.GetRequiredService<WorkOSTokenValidator>()), sp => Cached(sp, sp.GetRequiredService<DemoTokenService>()));
        return services;
    }

    /// <summary>A validator behind the cache of tokens already verified.</summary>
    private static CachingTokenValidator Cached(IServiceProvider sp, IAccessTokenValidator inner) =>
        new(inner, sp.GetRequiredService<Microsoft.Extensions.Caching.Memory.IMemoryCache>(), sp.GetRequiredService<TimeProvider>());
}
