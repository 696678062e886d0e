using System.Security.Cryptography;

namespace SmartApp.DevHost;

/// <summary>
/// What Azure adds around the function app, for <c>--azure</c>: the platform's environment variables for
/// the worker, and the front end's headers on each request (which the host's
/// <c>AppServiceHeaderFixupMiddleware</c> then reads: <c>DISGUISED-HOST</c> becomes the Host, and
/// <c>X-Forwarded-Proto</c> the scheme).
/// </summary>
public static class AzurePlatform
{
    /// <summary>The site's name and public host name, unless the app settings give <c>WEBSITE_SITE_NAME</c>.</summary>
    public const string DefaultSiteName = "smartapp-local";

    private static readonly string InstanceId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public static string SiteName(string? settingsFile = null) => AppSettings.Get("WEBSITE_SITE_NAME", settingsFile) ?? DefaultSiteName;

    public static string HostName(string? settingsFile = null) => AppSettings.Get("WEBSITE_HOSTNAME", settingsFile) ?? $"{SiteName(settingsFile)}.azurewebsites.net";

    /// <summary>The variables the platform sets for a Flex Consumption app (the settings win where they set one).</summary>
    public static Dictionary<string, string> Environment(string appDirectory, string? settingsFile = null) => new()
    {
        ["AZURE_FUNCTIONS_ENVIRONMENT"] = "Production",
        ["WEBSITE_SITE_NAME"] = SiteName(settingsFile),
        ["WEBSITE_HOSTNAME"] = HostName(settingsFile),
        ["WEBSITE_SKU"] = "FlexConsumption",
        ["WEBSITE_INSTANCE_ID"] = InstanceId,
        ["WEBSITE_OWNER_NAME"] = "00000000-0000-0000-0000-000000000000+smartapp-local-resources",
        ["WEBSITE_RESOURCE_GROUP"] = "smartapp-local",
        ["REGION_NAME"] = "East US",
        ["AzureWebJobsScriptRoot"] = appDirectory,
        ["FUNCTIONS_EXTENSION_VERSION"] = "~4",
        ["FUNCTIONS_WORKER_RUNTIME_VERSION"] = "10.0",
        ["CONTAINER_NAME"] = "smartapp-local-" + InstanceId[..8],
    };

    /// <summary>
    /// The front end's part of a request: TLS ends there, so the app sees https; the client's host name
    /// travels in <c>DISGUISED-HOST</c>; the client's address in <c>X-Forwarded-For</c> and <c>CLIENT-IP</c>.
    /// Then the host's fix-up: Host from <c>DISGUISED-HOST</c>, scheme from <c>X-Forwarded-Proto</c>.
    /// </summary>
    public static void ApplyFrontEnd(HttpContext context, string hostName)
    {
        var headers = context.Request.Headers;
        var client = context.Connection.RemoteIpAddress?.ToString() ?? "127.0.0.1";
        headers["DISGUISED-HOST"] = hostName;
        headers["WAS-DEFAULT-HOSTNAME"] = hostName;
        headers["X-Forwarded-Proto"] = "https";
        headers["X-AppService-Proto"] = "https";
        headers["X-Forwarded-TlsVersion"] = "1.3";
        headers["X-Forwarded-For"] = $"{client}:{context.Connection.RemotePort}";
        headers["CLIENT-IP"] = $"{client}:{context.Connection.RemotePort}";
        headers["X-ARR-LOG-ID"] = Guid.NewGuid().ToString();
        headers["X-Original-URL"] = context.Request.Path + context.Request.QueryString;
        headers["X-WAWS-Unencoded-URL"] = context.Request.Path + context.Request.QueryString;
        headers["X-SITE-DEPLOYMENT-ID"] = hostName.Split(".")[0];

        // AppServiceHeaderFixupMiddleware
        headers.Host = hostName;
        context.Request.Scheme = "https";
    }
}
