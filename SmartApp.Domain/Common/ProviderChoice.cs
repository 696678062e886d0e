using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Raindrop;

namespace SmartApp.Domain.Common;

/// <summary>
/// The one way a port gets its implementation from configuration: the first one when the capability's options choose it,
/// the other (Azure's own, or a null object that refuses or finds nothing) otherwise. Decided once, at first use; only
/// the chosen side is built, so an adapter that is not chosen needs none of its settings.
/// </summary>
public static class ProviderChoice
{
    public static IServiceCollection AddProviderChoice<TService, TOptions>(this IServiceCollection services, Func<TOptions, IServiceProvider, bool> chooses,
        Func<IServiceProvider, TService> chosen, Func<IServiceProvider, TService> otherwise)
        where TService : class where TOptions : class =>
        services.AddSingleton(sp => chooses(sp.GetRequiredService<IOptions<TOptions>>().Value, sp) ? chosen(sp) : otherwise(sp));

    /// <summary>Raindrop when the capability's <c>Provider</c> says so and a Raindrop key is set; Azure's own otherwise.</summary>
    public static IServiceCollection AddSmartProviderChoice<TService, TOptions>(this IServiceCollection services, Func<TOptions, SmartProvider> provider,
        Func<IServiceProvider, TService> onRaindrop, Func<IServiceProvider, TService> onAzure)
        where TService : class where TOptions : class =>
        services.AddProviderChoice<TService, TOptions>((options, sp) => sp.GetRequiredService<IOptions<RaindropOptions>>().Value.Serves(provider(options)), onRaindrop, onAzure);
}
