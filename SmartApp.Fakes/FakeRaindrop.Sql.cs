using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace SmartApp.Fakes;

/// <summary>
/// SmartSQL over a real in-memory SQLite database: <c>sqlQuery</c> runs as sent; <c>textQuery</c>
/// picks the first table the question lists (or, when <see cref="AnswerFromEveryTable"/>, every table
/// there is, as a careless text-to-SQL might) and selects the rows with a text column equal to one
/// of the question's words. Results alternate between the two known shapes (<c>jsonResults</c> for
/// statements, <c>results</c> for questions).
/// </summary>
public sealed partial class FakeRaindrop
{
    private readonly SqliteConnection _sql = Open();

    /// <summary>Questions are answered from every table in the database, not only those listed.</summary>
    public bool AnswerFromEveryTable { get; set; }

    /// <summary>Rows of a SQL table as JSON objects (empty when there is no such table).</summary>
    public IReadOnlyList<JsonObject> Rows(string table)
    {
        lock (_gate)
        {
            if (!TableNames().Contains(table)) return [];
            return Select($"SELECT * FROM \"{table}\" ORDER BY \"id\"");
        }
    }

    public IReadOnlyList<string> Tables { get { lock (_gate) return TableNames(); } }

    private JsonObject? AnswerSql(string verb, JsonObject body)
    {
        if (verb != "execute_query") return null;
        var sql = Str(body["sqlQuery"]);
        var question = Str(body["textQuery"]);
        if ((sql is null) == (question is null)) return null; // exactly one of them
        try
        {
            if (sql is not null)
                return new JsonObject { ["jsonResults"] = new JsonArray([.. Run(sql)]).ToJsonString(), ["queryExecuted"] = sql, ["status"] = 200 };
            var asked = AnswerFromEveryTable ? TableNames() : [.. ListedTables().Matches(question!).Select(m => m.Groups[1].Value).Take(1)];
            var words = Words(question!).ToList();
            var selects = asked.Select(t => $"SELECT * FROM \"{t}\" WHERE " + (words.Count == 0 ? "1" : string.Join(" OR ",
                TextColumns(t).SelectMany(c => words.Select(w => $"lower(CAST(\"{c}\" AS TEXT)) = '{w.Replace("'", "''", StringComparison.Ordinal)}'")))))
                .ToList();
            selects = [.. selects.Select(s => s.EndsWith("WHERE ", StringComparison.Ordinal) ? s + "0" : s)];
            // Tables differ in columns, so each SELECT runs on its own; the rows come back together as one answer's.
            var query = selects.Count == 0 ? "SELECT 1 WHERE 0" : string.Join(";\n", selects);
            return new JsonObject { ["results"] = new JsonArray([.. selects.SelectMany(Run)]).ToJsonString(), ["format"] = "OUTPUT_FORMAT_JSON", ["queryExecuted"] = query, ["aiReasoning"] = "matched the question's words", ["status"] = 200 };
        }
        catch (SqliteException ex)
        {
            return new JsonObject { ["jsonResults"] = "[]", ["queryExecuted"] = sql ?? "", ["status"] = 400, ["aiReasoning"] = ex.Message };
        }
    }

    private List<JsonNode> Run(string sql) =>
        sql.TrimStart().StartsWith("SELECT", StringComparison.OrdinalIgnoreCase) ? [.. Select(sql)] : Execute(sql);

    private List<JsonNode> Execute(string sql)
    {
        using var command = _sql.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
        return [];
    }

    private List<JsonObject> Select(string sql)
    {
        using var command = _sql.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<JsonObject>();
        while (reader.Read())
        {
            var row = new JsonObject();
            for (var i = 0; i < reader.FieldCount; i++)
                row[reader.GetName(i)] = reader.IsDBNull(i) ? null : reader.GetValue(i) switch
                {
                    long n => JsonValue.Create(n),
                    double d => JsonValue.Create(d),
                    var other => JsonValue.Create(Convert.ToString(other, System.Globalization.CultureInfo.InvariantCulture)),
                };
            rows.Add(row);
        }
        return rows;
    }

    private List<string> TableNames() =>
        [.. Select("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").Select(r => r["name"]!.GetValue<string>())];

    private List<string> TextColumns(string table) =>
        [.. Select($"SELECT name FROM pragma_table_info('{table}') WHERE type = 'TEXT' AND name NOT IN ('id', 'createdAt', 'updatedAt')").Select(r => r["name"]!.GetValue<string>())];

    private static SqliteConnection Open()
    {
        var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        return connection;
    }

    /// <summary>The tables a question lists, one per line: "- name (...)".</summary>
    [GeneratedRegex(@"^- (\S+) \(", RegexOptions.Multiline)]
    private static partial Regex ListedTables();
}
