using System.Text.Json;

namespace SmartApp.DevHost.Triggers;

/// <summary>A queue-triggered function: the queue it listens on and the connection (an app setting name) that reaches it.</summary>
public sealed record QueueTriggerBinding(string FunctionName, string FunctionId, string Parameter, string QueueName, string Connection);

/// <summary>A timer-triggered function: its schedule (six-field NCRONTAB or a TimeSpan) and whether it also runs at start.</summary>
public sealed record TimerTriggerBinding(string FunctionName, string FunctionId, string Parameter, string Schedule, bool RunOnStartup);

/// <summary>The non-HTTP triggers in one function's raw bindings, as the worker's metadata gives them.</summary>
public static class TriggerBindings
{
    /// <summary>The host's default connection for storage triggers.</summary>
    public const string DefaultConnection = "AzureWebJobsStorage";

    public static object? From(string functionName, string functionId, IEnumerable<string> rawBindings)
    {
        foreach (var raw in rawBindings)
        {
            using var binding = JsonDocument.Parse(raw);
            var root = binding.RootElement;
            string? Text(string name) => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            var parameter = Text("name") ?? "input";
            switch (Text("type")?.ToLowerInvariant())
            {
                case "queuetrigger":
                    return new QueueTriggerBinding(functionName, functionId, parameter, Text("queueName") ?? "",
                        Text("connection") is { Length: > 0 } connection ? connection : DefaultConnection);
                case "timertrigger":
                    return new TimerTriggerBinding(functionName, functionId, parameter, Text("schedule") ?? "",
                        root.TryGetProperty("runOnStartup", out var startup) && startup.ValueKind == JsonValueKind.True);
            }
        }
        return null;
    }

    /// <summary>
    /// An attribute value with <c>%name%</c> replaced by the app setting of that name (as the host's name
    /// resolver does; <c>Section:Key</c> is read as <c>Section__Key</c> too).
    /// </summary>
    public static string Resolve(string value, IReadOnlyDictionary<string, string> settings) =>
        System.Text.RegularExpressions.Regex.Replace(value, "%([^%]+)%", match =>
        {
            var name = match.Groups[1].Value;
            return settings.TryGetValue(name, out var found) || settings.TryGetValue(name.Replace(":", "__", StringComparison.Ordinal), out found)
                ? found
                : throw new InvalidOperationException($"The app setting '{name}' named in '{value}' is not set.");
        });
}
