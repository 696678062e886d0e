using System.Globalization;
using System.Text.Json;

namespace SmartApp.DevHost;

/// <summary>What the dev host takes from the function app's host.json, with the Functions host's defaults.</summary>
public sealed record HostSettings(string RoutePrefix, TimeSpan FunctionTimeout)
{
    public static HostSettings Read(string appDirectory)
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
        return new HostSettings(prefix, timeout);
    }
}
