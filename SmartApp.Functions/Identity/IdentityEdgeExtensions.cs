using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Functions.Identity;

internal static class IdentityEdgeExtensions
{
    /// <summary>The web flow's cookies, encrypted with a data-protection key ring kept in blob storage.</summary>
    public static IServiceCollection AddIdentityEdge(this IServiceCollection services)
    {
        services.AddDataProtection().SetApplicationName("SmartApp");
        services.AddOptions<KeyManagementOptions>().Configure<BlobStore>((o, blobs) => o.XmlRepository = new BlobXmlRepository(blobs));
        // The key ring is read from blob storage when a cookie is first protected or read, not at
        // start-up: most requests carry bearer tokens, and a cold start should not wait on storage.
        var eagerLoad = services.FirstOrDefault(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType?.Name == "DataProtectionHostedService");
        if (eagerLoad is not null) services.Remove(eagerLoad);
        services.AddSingleton<AuthCookies>();
        return services;
    }
}
