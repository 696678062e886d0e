using System.Globalization;
using System.Text.Json;

namespace SmartApp.DevHost;

/// <summary>
/// What the dev host takes from the function app's host.json and app settings, with the Functions host's
/// defaults: the route prefix, <c>functionTimeout</c>, and the largest request body the host lets through.
/// </summary>
public sealed record HostSettings(string RoutePrefix, TimeSpan FunctionTimeout, long MaxRequestBodyBytes)
{
    /// <summary>The Functions host's own limit on a request body (<c>ScriptConstants.DefaultMaxRequestBodySize</c>, 100 MiB).</summary>
    public const long DefaultMaxRequestBodyBytes = 104_857_600;

    /// <summary>The app setting that raises (or lowers) it, as the host's <c>HttpRequestBodySizeMiddleware</c> reads it.</summary>
    public const string RequestBodySizeLimitSetting = "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT";

    /// <param name="settingsFile">The local.settings.json whose <c>Values</c> are the app settings (the environment wins, as for the worker).</param>
    public static HostSettings Read(string appDirectory, string? settingsFile = null)
    {
        var prefix = "api";
        var timeout = TimeSpan.FromMinutes(30);
        var path = Path.Combine(appDirectory, "host.json");
        if (File.Exists(path))
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            var root = document.RootElement;
            if (root.TryGetProperty("extensions", out var extensions) && extensions.TryGetProperty("http", out var http)
                && http.TryGetProperty("routePrefix", out var routePrefix) && routePrefix.GetString() is { } value)
                prefix = value;
            if (root.TryGetProperty("functionTimeout", out var functionTimeout)
                && TimeSpan.TryParse(functionTimeout.GetString(), CultureInfo.InvariantCulture, out var parsed))
                timeout = parsed;
        }
        return new HostSettings(prefix, timeout, BodyLimit(settingsFile));
    }

    private static long BodyLimit(string? settingsFile) =>
        long.TryParse(AppSettings.Get(RequestBodySizeLimitSetting, settingsFile), NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit > 0
            ? limit
            : DefaultMaxRequestBodyBytes;
}
