using System.Text.Json;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Raindrop;

namespace SmartApp.Domain.Data.Adapters.Raindrop;

/// <summary>SmartSQL: statements the mirror writes, and questions in natural language (<c>textQuery</c>).</summary>
public sealed class RaindropSmartSql(IHttpClientFactory httpClients, IOptions<RaindropOptions> options) : RaindropClient(httpClients, Area)
{
    public const string Area = "sql";

    public Task<SqlResult> ExecuteAsync(string sql, CancellationToken cancellationToken) =>
        QueryAsync(new { smartSqlLocation = Location(), sqlQuery = sql, format = "OUTPUT_FORMAT_JSON" }, cancellationToken);

    public Task<SqlResult> AskAsync(string question, CancellationToken cancellationToken) =>
        QueryAsync(new { smartSqlLocation = Location(), textQuery = question, format = "OUTPUT_FORMAT_JSON" }, cancellationToken);

    private async Task<SqlResult> QueryAsync(object body, CancellationToken cancellationToken)
    {
        var answer = await PostAsync<ExecuteResponse>("execute_query", body, cancellationToken).ConfigureAwait(false);
        // Two shapes are in use: jsonResults (older) or results (newer); either is a JSON array of rows as text.
        var text = answer.JsonResults ?? answer.Results;
        var rows = new List<JsonElement>();
        if (!string.IsNullOrWhiteSpace(text))
        {
            try
            {
                using var parsed = JsonDocument.Parse(text);
                var array = parsed.RootElement.ValueKind == JsonValueKind.Object && parsed.RootElement.TryGetProperty("rows", out var inner) ? inner : parsed.RootElement;
                if (array.ValueKind == JsonValueKind.Array) rows.AddRange(array.EnumerateArray().Select(r => r.Clone()));
            }
            catch (JsonException ex)
            {
                throw new RaindropException("execute_query", "results are not JSON", 502, ex);
            }
        }
        return new SqlResult(rows, answer.QueryExecuted, answer.AiReasoning);
    }

    private object Location() => new { smartSql = new { name = options.Value.SqlName, applicationName = options.Value.ApplicationName, version = options.Value.Version.Length == 0 ? null : options.Value.Version } };

    private sealed record ExecuteResponse(string? JsonResults, string? Results, string? QueryExecuted, string? AiReasoning);
}

/// <summary>Rows SmartSQL returned, the SQL it ran, and (for questions) why.</summary>
public sealed record SqlResult(IReadOnlyList<JsonElement> Rows, string? QueryExecuted, string? Reasoning);
