using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace SmartApp.Domain.Data.Adapters.Raindrop;

/// <summary>
/// SQL text for SmartSQL (SQLite dialect). <c>execute_query</c> takes no parameters, so every name is
/// a quoted identifier and every value a quoted literal: nothing a user writes can end either early.
/// </summary>
public static class SqlText
{
    /// <summary>Columns every mirrored table has; fields of the record with these names are not mirrored (they would clash).</summary>
    public static readonly IReadOnlySet<string> SystemColumns = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "id", "createdAt", "updatedAt" };

    /// <summary>The SQL table of one user's table: <c>u{12 hex of the user}_{table}</c>. The prefix tells whose a table is.</summary>
    public static string TableOf(string userId, string table) => UserPrefix(userId) + table;

    public static string UserPrefix(string userId) => "u" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(userId)))[..12] + "_";

    public static string Identifier(string name) => "\"" + Clean(name).Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    public static string Literal(string? text) => text is null ? "NULL" : "'" + Clean(text).Replace("'", "''", StringComparison.Ordinal) + "'";

    /// <summary>A JSON value as a literal: numbers and booleans as numbers, strings as text, objects and arrays as their JSON text.</summary>
    public static string Literal(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => "NULL",
        JsonValueKind.True => "1",
        JsonValueKind.False => "0",
        JsonValueKind.Number when value.TryGetDouble(out var number) && double.IsFinite(number) => value.GetRawText(),
        JsonValueKind.String => Literal(value.GetString()),
        _ => Literal(value.GetRawText()),
    };

    /// <summary>The column type a first value of a field gives it.</summary>
    public static string TypeOf(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => value.TryGetInt64(out _) ? "INTEGER" : "REAL",
        JsonValueKind.True or JsonValueKind.False => "INTEGER",
        _ => "TEXT",
    };

    public static string Timestamp(DateTimeOffset at) => Literal(at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));

    /// <summary>NUL cannot appear in SQLite text; it becomes U+FFFD.</summary>
    private static string Clean(string text) => text.Contains('\0', StringComparison.Ordinal) ? text.Replace('\0', '\uFFFD') : text;
}
