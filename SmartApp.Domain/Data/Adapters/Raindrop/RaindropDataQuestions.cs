using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Raindrop;

namespace SmartApp.Domain.Data.Adapters.Raindrop;

/// <summary>
/// Questions about data answered by SmartSQL (<c>execute_query</c> with <c>textQuery</c>) over the
/// user's mirrored tables, while it has all of the user's writes and answers within
/// <see cref="RaindropOptions.ReadTimeout"/>. SmartSQL can reach every mirrored table, so its answer
/// is only taken when the SQL it ran names the user's own tables and no others (nor the catalogue):
/// anything else is dropped and the model's structured query answers instead. Rows that are records
/// are returned as they are now in Cosmos. When SmartSQL finds nothing, the model's query is tried too.
/// </summary>
public sealed partial class RaindropDataQuestions(
    RaindropSmartSql sql, IRecordStore records, MirrorFreshness freshness, IOptions<RaindropOptions> options, ILogger<RaindropDataQuestions> logger) : IDataQuestions
{
    public async Task<DataAnswer?> TryAnswerAsync(string userId, string question, IReadOnlyList<TableInfo> tables, CancellationToken cancellationToken)
    {
        SqlResult result;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.Value.ReadTimeout);
            var lastWrite = await records.LastWrittenAtAsync(userId, timeout.Token).ConfigureAwait(false);
            if (!await freshness.HasAllWrittenBeforeAsync(RaindropSmartSql.Area, lastWrite, timeout.Token).ConfigureAwait(false)) return null;
            result = await sql.AskAsync(Prompt(userId, question, tables), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RaindropException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogFallback(logger, ex.Message);
            return null;
        }

        if (result.Rows.Count == 0) return null; // nothing found: the model's query may read the question differently
        if (OwnTables(userId, result.QueryExecuted, tables) is not { Count: > 0 } asked)
        {
            LogNotOwn(logger, result.QueryExecuted ?? "(none)");
            return null;
        }
        var ids = result.Rows
            .Select(r => r.ValueKind == JsonValueKind.Object && r.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null)
            .OfType<string>().Distinct(StringComparer.Ordinal).Take(QueryGrammar.MaxInValues).ToList();
        var found = await Task.WhenAll(ids.Select(id => FindInAsync(userId, asked, id, cancellationToken))).ConfigureAwait(false);
        var items = found.OfType<DataRecord>().ToList();
        var table = items.Count > 0 ? items[0].Table : asked[0];
        var query = new TableQuery([new Filter("id", FilterOp.In, JsonSerializer.SerializeToElement(items.Where(i => i.Table == table).Select(i => i.Id)))], [], null, QueryGrammar.MaxLimit, null);
        return new DataAnswer(table, query, items, result.Reasoning)
        {
            Provider = Providers.Raindrop,
            Sql = result.QueryExecuted,
            Rows = result.Rows.Take(QueryGrammar.MaxLimit).ToList(),
        };
    }

    /// <summary>The question with the user's tables named (as SQL tables, with their columns), so SmartSQL looks only there.</summary>
    private static string Prompt(string userId, string question, IReadOnlyList<TableInfo> tables)
    {
        var text = new StringBuilder("Answer only from these tables:\n");
        foreach (var table in tables)
            text.Append("- ").Append(SqlText.TableOf(userId, table.Name)).Append(" (").Append(table.Name).Append("): id, createdAt, updatedAt")
                .Append(string.Concat(table.Columns.Select(c => c.Name).Where(c => !c.Contains('.', StringComparison.Ordinal) && !SqlText.SystemColumns.Contains(c)).Select(c => ", " + c)))
                .Append('\n');
        return text.Append("Question: ").Append(question.Trim()).ToString();
    }

    /// <summary>The user's tables the SQL reads, in order of mention; null when it reads anything else (another user's table, the catalogue) or cannot be checked.</summary>
    internal static List<string>? OwnTables(string userId, string? executed, IReadOnlyList<TableInfo> tables)
    {
        if (string.IsNullOrWhiteSpace(executed) || Catalogue().IsMatch(executed)) return null;
        var prefix = SqlText.UserPrefix(userId);
        var names = tables.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var mentioned = new List<string>();
        foreach (Match match in MirroredTable().Matches(executed))
        {
            if (!match.Value.StartsWith(prefix, StringComparison.Ordinal)) return null;
            var table = match.Value[prefix.Length..];
            if (!names.Contains(table)) return null;
            if (!mentioned.Contains(table)) mentioned.Add(table);
        }
        return mentioned;
    }

    private async Task<DataRecord?> FindInAsync(string userId, IReadOnlyList<string> tables, string id, CancellationToken cancellationToken)
    {
        if (!QueryGrammar.IsRecordId(id)) return null;
        foreach (var table in tables)
            if (await records.FindAsync(userId, table, id, cancellationToken).ConfigureAwait(false) is { } record) return record;
        return null;
    }

    [GeneratedRegex(@"u[0-9a-f]{12}_[A-Za-z][A-Za-z0-9_]*")]
    private static partial Regex MirroredTable();

    [GeneratedRegex(@"sqlite_|pragma|information_schema", RegexOptions.IgnoreCase)]
    private static partial Regex Catalogue();

    [LoggerMessage(EventId = 6101, Level = LogLevel.Warning, Message = "SmartSQL did not answer ({Error}); the model's query answers")]
    private static partial void LogFallback(ILogger logger, string error);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Warning, Message = "SmartSQL's answer read beyond the user's own tables and was dropped: {Sql}")]
    private static partial void LogNotOwn(ILogger logger, string sql);
}
