using System.Text.Json;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Raindrop;
using SmartApp.Domain.Common.Storage;
using SmartApp.Domain.Data.Adapters.Cosmos;

namespace SmartApp.Domain.Data.Adapters.Raindrop;

/// <summary>
/// Mirrors data tables to SmartSQL from the <c>records</c> feed, so SmartSQL can answer questions
/// about them: one SQL table per user and table (<see cref="SqlText.TableOf"/>) with <c>id</c>,
/// <c>createdAt</c>, <c>updatedAt</c> and a column per top-level field (scalars as they are, objects
/// and arrays as JSON text; a column is added the first time a field is seen). A table made again
/// after a drop is a new generation and starts empty; a dropped table is dropped.
/// </summary>
public sealed class DataMirror(RaindropSmartSql sql, MirrorLedger ledger, IOptions<DataOptions> dataOptions, IOptions<RaindropOptions> raindrop) : IMirrorHandler
{
    public string Area => RaindropSmartSql.Area;

    public bool Enabled => raindrop.Value.Serves(dataOptions.Value.Provider);

    public CosmosContainerSpec Container => CosmosContainers.Records;

    public async Task ApplyAsync(JsonElement change, CancellationToken cancellationToken)
    {
        if (change.Text("userId") is not { } userId || change.Text("table") is not { } table) return;
        switch (change.Text("type"))
        {
            case CosmosRecordStore.TableType:
                await EnsureTableAsync(userId, table, change.Text("createdAt") ?? "", cancellationToken).ConfigureAwait(false);
                break;
            case CosmosRecordStore.DeletedTableType:
                await DropTableAsync(userId, table, cancellationToken).ConfigureAwait(false);
                break;
            case CosmosRecordStore.RecordType when change.Text("recordId") is { } recordId && change.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object:
                await UpsertAsync(userId, table, recordId, data, change, cancellationToken).ConfigureAwait(false);
                break;
            case CosmosRecordStore.DeletedRecordType when change.Text("recordId") is { } recordId:
                await DeleteAsync(userId, table, recordId, cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    private async Task<TableState> EnsureTableAsync(string userId, string table, string generation, CancellationToken cancellationToken)
    {
        var name = SqlText.TableOf(userId, table);
        var known = await ledger.FindAsync(Area, TableKey(userId, table), cancellationToken).ConfigureAwait(false);
        var state = known is null ? null : TableState.Parse(known.Version);
        // Records may be read before their table item (it changes only when the table is made); then any generation will do.
        if (state is not null && (generation.Length == 0 || state.Generation == generation)) return state;
        if (state is { Generation.Length: 0 })
        {
            // Made by an earlier record of this same generation: it only learns its generation now.
            var adopted = state with { Generation = generation };
            await ledger.RecordAsync(Area, TableKey(userId, table), userId, name, adopted.ToString(), cancellationToken).ConfigureAwait(false);
            return adopted;
        }
        if (state is not null) await sql.ExecuteAsync($"DROP TABLE IF EXISTS {SqlText.Identifier(name)}", cancellationToken).ConfigureAwait(false);
        await sql.ExecuteAsync(
            $"CREATE TABLE IF NOT EXISTS {SqlText.Identifier(name)} (\"id\" TEXT PRIMARY KEY, \"createdAt\" TEXT, \"updatedAt\" TEXT)", cancellationToken).ConfigureAwait(false);
        var created = new TableState(generation, []);
        await ledger.RecordAsync(Area, TableKey(userId, table), userId, name, created.ToString(), cancellationToken).ConfigureAwait(false);
        return created;
    }

    private async Task DropTableAsync(string userId, string table, CancellationToken cancellationToken)
    {
        if (await ledger.FindAsync(Area, TableKey(userId, table), cancellationToken).ConfigureAwait(false) is not { } known) return;
        await EraseAsync(known, cancellationToken).ConfigureAwait(false);
        await ledger.ForgetAsync(Area, known, cancellationToken).ConfigureAwait(false);
    }

    private async Task UpsertAsync(string userId, string table, string recordId, JsonElement data, JsonElement change, CancellationToken cancellationToken)
    {
        var key = RecordKey(userId, table, recordId);
        var version = change.Text("_etag") ?? change.Text("updatedAt") ?? "";
        var mirrored = await ledger.FindAsync(Area, key, cancellationToken).ConfigureAwait(false);
        if (mirrored?.Version == version) return;

        var state = await EnsureTableAsync(userId, table, "", cancellationToken).ConfigureAwait(false);
        var name = SqlText.Identifier(SqlText.TableOf(userId, table));
        var fields = data.EnumerateObject().Where(f => !SqlText.SystemColumns.Contains(f.Name)).ToList();
        var added = fields.Where(f => !state.Columns.Contains(f.Name)).ToList();
        foreach (var field in added)
            await sql.ExecuteAsync($"ALTER TABLE {name} ADD COLUMN {SqlText.Identifier(field.Name)} {SqlText.TypeOf(field.Value)}", cancellationToken).ConfigureAwait(false);
        if (added.Count > 0)
        {
            state = state with { Columns = [.. state.Columns, .. added.Select(f => f.Name)] };
            await ledger.RecordAsync(Area, TableKey(userId, table), userId, SqlText.TableOf(userId, table), state.ToString(), cancellationToken).ConfigureAwait(false);
        }

        // Every known column is written, so a field removed from the record becomes NULL.
        var values = state.Columns.ToDictionary(c => c, _ => "NULL", StringComparer.Ordinal);
        foreach (var field in fields) values[field.Name] = SqlText.Literal(field.Value);
        var columns = new[] { "id", "createdAt", "updatedAt" }.Concat(values.Keys).Select(SqlText.Identifier);
        var literals = new[] { SqlText.Literal(recordId), SqlText.Literal(change.Text("createdAt")), SqlText.Literal(change.Text("updatedAt")) }.Concat(values.Values);
        await sql.ExecuteAsync($"INSERT OR REPLACE INTO {name} ({string.Join(", ", columns)}) VALUES ({string.Join(", ", literals)})", cancellationToken).ConfigureAwait(false);
        await ledger.RecordAsync(Area, key, userId, key, version, cancellationToken).ConfigureAwait(false);
    }

    private async Task DeleteAsync(string userId, string table, string recordId, CancellationToken cancellationToken)
    {
        if (await ledger.FindAsync(Area, RecordKey(userId, table, recordId), cancellationToken).ConfigureAwait(false) is not { } mirrored) return;
        if (await ledger.FindAsync(Area, TableKey(userId, table), cancellationToken).ConfigureAwait(false) is not null)
            await sql.ExecuteAsync($"DELETE FROM {SqlText.Identifier(SqlText.TableOf(userId, table))} WHERE \"id\" = {SqlText.Literal(recordId)}", cancellationToken).ConfigureAwait(false);
        await ledger.ForgetAsync(Area, mirrored, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A table is dropped; its records go with it.</summary>
    public async Task EraseAsync(MirroredItem item, CancellationToken cancellationToken)
    {
        if (item.ItemId.StartsWith(TableKey(item.UserId, ""), StringComparison.Ordinal))
            await sql.ExecuteAsync($"DROP TABLE IF EXISTS {SqlText.Identifier(item.RaindropId)}", cancellationToken).ConfigureAwait(false);
    }

    private static string TableKey(string userId, string table) => $"{userId}:table:{table}";

    private static string RecordKey(string userId, string table, string recordId) => $"{userId}:record:{table}:{recordId}";

    /// <summary>What the ledger keeps of a mirrored table: its generation and the columns made so far (beyond the system ones).</summary>
    private sealed record TableState(string Generation, IReadOnlyList<string> Columns)
    {
        public static TableState Parse(string version) =>
            JsonSerializer.Deserialize<TableState>(version, RaindropClient.Json) ?? new TableState("", []);

        public override string ToString() => JsonSerializer.Serialize(this, RaindropClient.Json);
    }
}
