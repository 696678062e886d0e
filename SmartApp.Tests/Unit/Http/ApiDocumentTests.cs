using System.Text.Json;
using SmartApp.Functions.Console;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class ApiDocumentTests
{
    [Fact]
    public async Task The_document_reads_cleanly_and_is_written_as_OpenAPI_3_1_JSON()
    {
        var json = await new ApiDocument().JsonAsync();
        using var document = JsonDocument.Parse(json);
        Assert.StartsWith("3.1", document.RootElement.GetProperty("openapi").GetString());
        var paths = document.RootElement.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/memory/search", out var search));
        // JSON Schema 2020-12 keywords survive the round trip: type arrays and component references.
        Assert.Equal(JsonValueKind.Array, document.RootElement.GetProperty("components").GetProperty("schemas").GetProperty("File").GetProperty("properties").GetProperty("sha256").GetProperty("type").ValueKind);
        Assert.Equal("#/components/schemas/Memory", search.GetProperty("post").GetProperty("responses").GetProperty("200").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("properties").GetProperty("results").GetProperty("items").GetProperty("$ref").GetString());
    }
}
