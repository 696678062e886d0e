using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Functions.Identity;

internal static class IdentityEdgeExtensions
{
    /// <summary>The web flow's cookies, encrypted with a data-protection key ring kept in blob storage.</summary>
    public static IServiceCollection AddIdentityEdge(this IServiceCollection services)
    {
        services.AddDataProtection().SetApplicationName("SmartApp");
        services.AddOptions<KeyManagementOptions>().Configure<BlobStore>((o, blobs) => o.XmlRepository = new BlobXmlRepository(blobs));
        services.AddSingleton<AuthCookies>();
        return services;
    }
}
