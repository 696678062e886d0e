using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Identity.Adapters.Blob;
using SmartApp.Domain.Identity.Adapters.Cosmos;

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
        services.AddSingleton<IAccessTokenValidator>(sp => sp.GetRequiredService<DemoTokenService>());
        services.AddSingleton<IdentityService>();
        return services;
    }
}
