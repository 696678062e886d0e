using System.Text.Json;

namespace SmartApp.DevHost;

/// <summary>The <c>--ready-file</c>: written whole (via a rename) once the host serves, for tools and tests.</summary>
internal static class ReadyFile
{
    public static async Task WriteAsync(string path, IReadOnlyDictionary<string, string> state)
    {
        var temporary = path + ".tmp";
        await File.WriteAllTextAsync(temporary, JsonSerializer.Serialize(state));
        File.Move(temporary, path, overwrite: true);
    }
}
