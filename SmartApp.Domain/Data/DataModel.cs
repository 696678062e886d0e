using System.Text.Json;
using System.Text.Json.Nodes;

namespace SmartApp.Domain.Data;

/// <summary>A record of a user's table: its id, its JSON object, and the version to send back with If-Match.</summary>
public sealed record DataRecord(string Id, string Table, JsonObject Data, string ETag, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public enum FilterOp
{
    Eq, Ne, Gt, Gte, Lt, Lte, In, Contains, StartsWith, Exists,
}

public sealed record Filter(string Field, FilterOp Op, JsonElement Value);

public sealed record Ordering(string Field, bool Desc);

/// <summary>A structured query over one table: the only query language clients (and the model) can use.</summary>
public sealed record TableQuery(IReadOnlyList<Filter> Where, IReadOnlyList<Ordering> OrderBy, IReadOnlyList<string>? Select, int Limit, string? Cursor);

public sealed record RecordPage(IReadOnlyList<DataRecord> Items, string? NextCursor);

public sealed record ColumnInfo(string Name, string Type);

public sealed record TableInfo(string Name, long Rows, IReadOnlyList<ColumnInfo> Columns)
{
    /// <summary>The space the table is in.</summary>
    public Identity.SpaceKind Space { get; init; }
}

/// <summary>A question answered: the query the model wrote (as run), the rows, and why.</summary>
public sealed record DataAnswer(string Table, TableQuery Query, IReadOnlyList<DataRecord> Items, string? Reasoning)
{
    /// <summary>Who answered: the model's structured query (<c>azure</c>) or SmartSQL (<c>raindrop</c>).</summary>
    public string Provider { get; init; } = Common.Raindrop.Providers.Azure;

    /// <summary>SmartSQL answers: the SQL it ran over the mirrored tables, and the rows it returned (which may be aggregates).</summary>
    public string? Sql { get; init; }

    public IReadOnlyList<JsonElement>? Rows { get; init; }
}
