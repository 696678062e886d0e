using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
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

        var mode = configuration.GetSection(AuthOptions.Section).GetValue<AuthMode?>(nameof(AuthOptions.Mode)) ?? AuthMode.Demo;
        if (mode == AuthMode.WorkOS)
        {
            services.AddOptions<WorkOSOptions>().Bind(configuration.GetSection(WorkOSOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
            services.AddHttpClient<WorkOSClient>((sp, http) =>
                {
                    var workOS = sp.GetRequiredService<IOptions<WorkOSOptions>>().Value;
                    http.BaseAddress = new Uri(workOS.ApiBaseUrl.TrimEnd('/') + "/");
                    http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", workOS.ApiKey);
                })
                .AddStandardResilienceHandler(o =>
                {
                    // Retries honour Retry-After; a code exchange is not retried once WorkOS has answered it.
                    o.Retry.MaxRetryAttempts = 2;
                    o.Retry.DisableForUnsafeHttpMethods();
                    o.AttemptTimeout.Timeout = TimeSpan.FromSeconds(5);
                    o.TotalRequestTimeout.Timeout = TimeSpan.FromSeconds(15);
                });
            services.AddSingleton<IIdentityProvider>(sp => sp.GetRequiredService<WorkOSClient>());
            services.AddSingleton<WorkOSTokenValidator>();
        }
        services.AddSingleton<IAccessTokenValidator>(sp => new CachingTokenValidator(
            mode == AuthMode.WorkOS ? sp.GetRequiredService<WorkOSTokenValidator>() : sp.GetRequiredService<DemoTokenService>(),
            sp.GetRequiredService<Microsoft.Extensions.Caching.Memory.IMemoryCache>(), sp.GetRequiredService<TimeProvider>()));
        return services;
    }
}
