using System.Text;
using System.Text.Json;

namespace SmartApp.Domain.Memory;

/// <summary>The searchable text of a JSON document: each value with the name of the property that holds it.</summary>
public static class DocumentText
{
    public static string Of(JsonElement document)
    {
        var text = new StringBuilder();
        Append(document, null, text);
        return text.ToString().Trim();
    }

    private static void Append(JsonElement element, string? name, StringBuilder text)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject()) Append(property.Value, property.Name, text);
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray()) Append(item, name, text);
                break;
            case JsonValueKind.String when element.GetString() is { Length: > 0 } value:
                Line(text, name, value);
                break;
            case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                Line(text, name, element.GetRawText());
                break;
        }
    }

    private static void Line(StringBuilder text, string? name, string value) =>
        text.Append(name is null ? "" : name + ": ").Append(value).Append('\n');
}
