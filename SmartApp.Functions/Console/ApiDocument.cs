using System.Reflection;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;

namespace SmartApp.Functions.Console;

/// <summary>
/// The API's contract: <c>openapi/openapi.yaml</c> (embedded), read with OpenAPI.NET and written as
/// OpenAPI 3.1 JSON once per instance. A document that does not read cleanly fails loudly.
/// </summary>
public sealed class ApiDocument
{
    private readonly Lazy<Task<string>> _json = new(LoadAsync);

    public Task<string> JsonAsync() => _json.Value;

    private static async Task<string> LoadAsync()
    {
        await using var yaml = Assembly.GetExecutingAssembly().GetManifestResourceStream("openapi.yaml")
            ?? throw new InvalidOperationException("openapi.yaml is not embedded in the function app.");
        var settings = new OpenApiReaderSettings();
        settings.AddYamlReader();
        var read = await OpenApiDocument.LoadAsync(yaml, "yaml", settings).ConfigureAwait(false);
        if (read.Document is null || read.Diagnostic?.Errors.Count > 0)
            throw new InvalidOperationException("openapi.yaml does not read: " + string.Join("; ", read.Diagnostic?.Errors.Select(e => $"{e.Pointer}: {e.Message}") ?? []));
        return await read.Document.SerializeAsJsonAsync(OpenApiSpecVersion.OpenApi3_1).ConfigureAwait(false);
    }
}
