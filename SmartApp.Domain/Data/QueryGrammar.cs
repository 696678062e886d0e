using System.Text.Json;
using System.Text.RegularExpressions;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Errors;

namespace SmartApp.Domain.Data;

/// <summary>
/// The strict grammar of names in data queries. Table names, record ids and field paths are checked
/// here before any query is built; values never become query text (they are parameters).
/// </summary>
public static partial class QueryGrammar
{
    public const int MaxDepth = 8, MaxFilters = 20, MaxOrderBy = 1, MaxSelect = 50, DefaultLimit = 50, MaxLimit = 500, MaxInValues = 100;

    /// <summary>Letters, digits and underscores, starting with a letter; 1–64 characters.</summary>
    public static string Table(string? name) =>
        name is not null && TableName().IsMatch(name) ? name : throw new ValidationFailedException("table", "A table name is 1-64 letters, digits or underscores, starting with a letter.");

    public static bool IsRecordId(string? id) => id is not null && RecordId().IsMatch(id);

    /// <summary>A dot path of field names (each a letter or underscore, then letters, digits, underscores; up to 8 deep). <c>id</c>, <c>createdAt</c>, <c>updatedAt</c> are the record's own.</summary>
    public static string[] Path(string? field, string where)
    {
        var segments = field?.Split('.') ?? [];
        if (segments.Length is 0 or > MaxDepth || !segments.All(s => Segment().IsMatch(s)))
            throw new ValidationFailedException(where, $"'{Shorten(field)}' is not a field path: names of letters, digits and underscores joined by dots, at most {MaxDepth} deep.");
        return segments;
    }

    public static FilterOp Op(string? op, string where) =>
        EnumNames.TryParse<FilterOp>(op, out var parsed)
            ? parsed
            : throw new ValidationFailedException(where, $"Unknown operator '{Shorten(op)}'; use eq, ne, gt, gte, lt, lte, in, contains, startsWith or exists.");

    /// <summary>Checks a whole query: sizes, names, operators and the kind of value each operator takes.</summary>
    public static TableQuery Validate(TableQuery query)
    {
        if (query.Where.Count > MaxFilters) throw new ValidationFailedException("where", $"At most {MaxFilters} conditions.");
        // Cosmos orders by more than one field only with a composite index per pair, which per-user fields cannot have.
        if (query.OrderBy.Count > MaxOrderBy) throw new ValidationFailedException("orderBy", "Order by one field: ordering by several needs a composite index for each combination, which tables of any shape cannot declare ahead.");
        if (query.Select is { Count: > MaxSelect }) throw new ValidationFailedException("select", $"At most {MaxSelect} fields.");
        PageLimit.Of(query.Limit, MaxLimit, MaxLimit);
        for (var i = 0; i < query.Where.Count; i++)
        {
            var filter = query.Where[i];
            Path(filter.Field, $"where[{i}].field");
            var value = filter.Value;
            var ok = filter.Op switch
            {
                FilterOp.In => value.ValueKind == JsonValueKind.Array && value.GetArrayLength() <= MaxInValues && value.EnumerateArray().All(IsScalar),
                FilterOp.Exists => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
                FilterOp.StartsWith => value.ValueKind == JsonValueKind.String,
                _ => IsScalar(value),
            };
            if (!ok)
                throw new ValidationFailedException($"where[{i}].value", filter.Op switch
                {
                    FilterOp.In => $"'in' takes an array of at most {MaxInValues} strings, numbers or booleans.",
                    FilterOp.Exists => "'exists' takes true or false.",
                    FilterOp.StartsWith => "'startsWith' takes a string.",
                    _ => "The value must be a string, number, boolean or null.",
                });
        }
        for (var i = 0; i < query.OrderBy.Count; i++) Path(query.OrderBy[i].Field, $"orderBy[{i}].field");
        foreach (var field in query.Select ?? []) Path(field, "select");
        return query;
    }

    private static bool IsScalar(JsonElement value) => value.ValueKind is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null;

    private static string? Shorten(string? text) => text is { Length: > 80 } ? text[..80] + "…" : text;

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_]{0,63}$")]
    private static partial Regex TableName();

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex RecordId();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
    private static partial Regex Segment();
}
