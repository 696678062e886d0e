using System.Collections;
using System.Text.Json;

namespace SmartApp.DevHost;

/// <summary>
/// The function app's settings as the Functions host sees them locally: local.settings.json's <c>Values</c>,
/// where a variable already set in the environment wins.
/// </summary>
public static class AppSettings
{
    /// <summary>The <c>Values</c> of <paramref name="settingsFile"/> that the environment does not set (none when there is no file).</summary>
    public static Dictionary<string, string> FromFile(string? settingsFile)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (settingsFile is null || !File.Exists(settingsFile)) return values;
        using var settings = JsonDocument.Parse(File.ReadAllText(settingsFile), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        if (settings.RootElement.TryGetProperty("Values", out var found))
            foreach (var setting in found.EnumerateObject())
                if (Environment.GetEnvironmentVariable(setting.Name) is null)
                    values[setting.Name] = setting.Value.ValueKind == JsonValueKind.String ? setting.Value.GetString()! : setting.Value.GetRawText();
        return values;
    }

    /// <summary>
    /// local.settings.json's <c>Host</c> CORS settings, as Core Tools reads them: <c>CORS</c>, a comma-separated
    /// list of origins (or <c>*</c>), and <c>CORSCredentials</c>. Null origins when the file sets none.
    /// </summary>
    public static (IReadOnlyList<string>? Origins, bool Credentials) Cors(string? settingsFile)
    {
        if (settingsFile is null || !File.Exists(settingsFile)) return (null, false);
        using var settings = JsonDocument.Parse(File.ReadAllText(settingsFile), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        if (!settings.RootElement.TryGetProperty("Host", out var host) || host.ValueKind != JsonValueKind.Object) return (null, false);
        var origins = host.TryGetProperty("CORS", out var cors) && cors.ValueKind == JsonValueKind.String
            ? cors.GetString()!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : null;
        var credentials = host.TryGetProperty("CORSCredentials", out var allow) && allow.ValueKind == JsonValueKind.True;
        return (origins is { Length: > 0 } ? origins : null, credentials);
    }

    /// <summary>Every setting: the file's, and the environment's over them.</summary>
    public static Dictionary<string, string> All(string? settingsFile)
    {
        var values = FromFile(settingsFile);
        foreach (DictionaryEntry variable in Environment.GetEnvironmentVariables())
            values[(string)variable.Key] = (string?)variable.Value ?? "";
        return values;
    }

    /// <summary>One setting: the environment's, else the file's, else null.</summary>
    public static string? Get(string name, string? settingsFile) =>
        Environment.GetEnvironmentVariable(name) ?? FromFile(settingsFile).GetValueOrDefault(name);
}
