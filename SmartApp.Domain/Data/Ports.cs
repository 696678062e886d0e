namespace SmartApp.Domain.Data;

/// <summary>Records (Cosmos, container <c>records</c>, partition <c>/userId</c>, the table a field). Every call is scoped to one user.</summary>
public interface IRecordStore
{
    Task<DataRecord> CreateAsync(string userId, DataRecord record, CancellationToken cancellationToken);

    Task<DataRecord?> FindAsync(string userId, string table, string id, CancellationToken cancellationToken);

    /// <summary>Replaces the record; with <paramref name="ifMatch"/> only if unchanged (412 otherwise). Null when it does not exist.</summary>
    Task<DataRecord?> ReplaceAsync(string userId, DataRecord record, string? ifMatch, CancellationToken cancellationToken);

    Task<bool> DeleteAsync(string userId, string table, string id, string? ifMatch, CancellationToken cancellationToken);

    /// <summary>Runs a validated query (values as parameters, field paths checked) in the user's partition.</summary>
    Task<RecordPage> QueryAsync(string userId, string table, TableQuery query, CancellationToken cancellationToken);

    Task<IReadOnlyList<string>> TablesAsync(string userId, CancellationToken cancellationToken);

    /// <summary>Records in one table, or in all of the user's tables when <paramref name="table"/> is null.</summary>
    Task<long> CountAsync(string userId, string? table, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="count"/> records of the table, for inferring its columns.</summary>
    Task<IReadOnlyList<DataRecord>> SampleAsync(string userId, string table, int count, CancellationToken cancellationToken);

    /// <summary>Makes sure the table is in the user's catalogue; false when it was new.</summary>
    Task<bool> EnsureTableAsync(string userId, string table, CancellationToken cancellationToken);

    Task<bool> DropTableAsync(string userId, string table, CancellationToken cancellationToken);

    /// <summary>When anything of the user's data (tombstones too) was last written; null when nothing ever was.</summary>
    Task<DateTimeOffset?> LastWrittenAtAsync(string userId, CancellationToken cancellationToken);
}

/// <summary>
/// Answers a question about a user's tables without the model's structured query (SmartSQL), or
/// answers null when it cannot: the model's structured query answers then.
/// </summary>
public interface IDataQuestions
{
    Task<DataAnswer?> TryAnswerAsync(string userId, string question, IReadOnlyList<TableInfo> tables, CancellationToken cancellationToken);
}

/// <summary>No other way to answer: every question goes to the model.</summary>
public sealed class NoDataQuestions : IDataQuestions
{
    public Task<DataAnswer?> TryAnswerAsync(string userId, string question, IReadOnlyList<TableInfo> tables, CancellationToken cancellationToken) =>
        Task.FromResult<DataAnswer?>(null);
}
