using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Azure.Cosmos;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Data.Adapters.Cosmos;

/// <summary>
/// Records in container <c>records-v2</c> (<c>type: record</c>, id <c>{table}:{recordId}</c>) and a catalogue
/// item per table (<c>type: table</c>), keyed by user then shard. Structured queries become parameterised SQL over the
/// user's prefix of the key; a point read or write names the item's full key.
/// </summary>
public sealed class CosmosRecordStore(CosmosStore store, StoredDataMigration migration) : IRecordStore
{
    public async Task<DataRecord> CreateAsync(string userId, DataRecord record, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(userId, cancellationToken).ConfigureAwait(false);
        try
        {
            var response = await container.CreateItemAsync(RecordDocument.From(userId, record), Key(userId, RecordDocument.IdFor(record.Table, record.Id)), cancellationToken: cancellationToken).ConfigureAwait(false);
            return response.Resource.ToRecord(response.ETag);
        }
        catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
        {
            // Only the tombstone of a deleted record may stand in the way: the new record replaces it.
            var existing = await container.ReadOrNullAsync<RecordDocument>(RecordDocument.IdFor(record.Table, record.Id), Key(userId, RecordDocument.IdFor(record.Table, record.Id)), cancellationToken).ConfigureAwait(false);
            if (existing?.Resource.Type != DeletedRecordType)
                throw new ConflictException($"A record with id '{record.Id}' already exists in '{record.Table}'.");
            try
            {
                var response = await container.ReplaceItemAsync(RecordDocument.From(userId, record), existing.Resource.Id, Key(userId, existing.Resource.Id),
                    new ItemRequestOptions { IfMatchEtag = existing.ETag }, cancellationToken).ConfigureAwait(false);
                return response.Resource.ToRecord(response.ETag);
            }
            catch (CosmosException again) when (again.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound)
            {
                throw new ConflictException($"A record with id '{record.Id}' was just written in '{record.Table}'; read it.");
            }
        }
    }

    public async Task<DataRecord?> FindAsync(string userId, string table, string id, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(userId, cancellationToken).ConfigureAwait(false);
        var response = await container.ReadOrNullAsync<RecordDocument>(RecordDocument.IdFor(table, id), Key(userId, RecordDocument.IdFor(table, id)), cancellationToken).ConfigureAwait(false);
        return response?.Resource.Type == RecordType ? response.Resource.ToRecord(response.ETag) : null;
    }

    public async Task<DataRecord?> ReplaceAsync(string userId, DataRecord record, string? ifMatch, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(userId, cancellationToken).ConfigureAwait(false);
        var id = RecordDocument.IdFor(record.Table, record.Id);
        // A deleted record is a tombstone: replaced only while it is a live record (its etag, read here when the client sent none).
        var expected = ifMatch;
        if (expected is null)
        {
            var current = await container.ReadOrNullAsync<RecordDocument>(id, Key(userId, id), cancellationToken).ConfigureAwait(false);
            if (current?.Resource.Type != RecordType) return null;
            expected = current.ETag;
        }
        try
        {
            var response = await container.ReplaceItemAsync(RecordDocument.From(userId, record), id, Key(userId, id),
                new ItemRequestOptions { IfMatchEtag = expected }, cancellationToken).ConfigureAwait(false);
            return response.Resource.ToRecord(response.ETag);
        }
        catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.PreconditionFailed)
        {
            if (ifMatch is null) return await ReplaceAsync(userId, record, null, cancellationToken).ConfigureAwait(false); // changed meanwhile: last write wins
            if (await FindAsync(userId, record.Table, record.Id, cancellationToken).ConfigureAwait(false) is null) return null;
            throw new PreconditionFailedException("The record has changed since that etag; read it again.");
        }
    }

    /// <summary>
    /// Deletes by writing a tombstone (<c>type: deleted-record</c>, removed by Cosmos after a day), so
    /// the deletion reaches the change feed that mirrors data to SmartSQL.
    /// </summary>
    public async Task<bool> DeleteAsync(string userId, string table, string id, string? ifMatch, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(userId, cancellationToken).ConfigureAwait(false);
        var itemId = RecordDocument.IdFor(table, id);
        var current = await container.ReadOrNullAsync<RecordDocument>(itemId, Key(userId, itemId), cancellationToken).ConfigureAwait(false);
        if (current?.Resource.Type != RecordType) return false;
        if (ifMatch is not null && ifMatch != current.ETag)
            throw new PreconditionFailedException("The record has changed since that etag; read it again.");
        try
        {
            await container.ReplaceItemAsync(new Tombstone(itemId, userId, DeletedRecordType, table, id, TombstoneTtlSeconds), itemId, Key(userId, itemId),
                new ItemRequestOptions { IfMatchEtag = current.ETag, EnableContentResponseOnWrite = false }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (CosmosException ex) when (ex.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound)
        {
            if (ifMatch is not null) throw new PreconditionFailedException("The record has changed since that etag; read it again.");
            return await DeleteAsync(userId, table, id, null, cancellationToken).ConfigureAwait(false); // changed meanwhile: delete what is there now
        }
    }

    public async Task<RecordPage> QueryAsync(string userId, string table, TableQuery query, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(userId, cancellationToken).ConfigureAwait(false);
        var definition = Translate(table, query);
        var (items, next) = await container.QueryPageAsync<RecordDocument>(Spec.OwnerKey(userId), definition, query.Cursor, query.Limit, cancellationToken).ConfigureAwait(false);
        return new RecordPage(items.Select(d => d.ToRecord(d.ETag ?? "")).ToList(), next);
    }

    /// <summary>The query as SQL: fixed text built only from validated names; every value is a parameter.</summary>
    internal static QueryDefinition Translate(string table, TableQuery query)
    {
        var clauses = new List<string> { "c.type = 'record'", "c.table = @table" };
        var parameters = new List<(string Name, object Value)> { ("@table", table) };
        for (var i = 0; i < query.Where.Count; i++)
        {
            var filter = query.Where[i];
            var field = Field(QueryGrammar.Path(filter.Field, $"where[{i}].field"));
            var p = $"@p{i}";
            clauses.Add(filter.Op switch
            {
                FilterOp.Eq => $"{field} = {p}",
                FilterOp.Ne => $"{field} != {p}",
                FilterOp.Gt => $"{field} > {p}",
                FilterOp.Gte => $"{field} >= {p}",
                FilterOp.Lt => $"{field} < {p}",
                FilterOp.Lte => $"{field} <= {p}",
                FilterOp.In => $"ARRAY_CONTAINS({p}, {field})",
                FilterOp.Contains => $"((IS_STRING({field}) AND CONTAINS({field}, {p})) OR (IS_ARRAY({field}) AND ARRAY_CONTAINS({field}, {p})))",
                FilterOp.StartsWith => $"STARTSWITH({field}, {p})",
                FilterOp.Exists => filter.Value.GetBoolean() ? $"IS_DEFINED({field})" : $"NOT IS_DEFINED({field})",
                _ => throw new ValidationFailedException($"where[{i}].op", "Unknown operator."),
            });
            if (filter.Op != FilterOp.Exists) parameters.Add((p, filter.Value.Clone()));
        }
        var order = query.OrderBy.Count == 0
            ? "c.createdAt ASC"
            : string.Join(", ", query.OrderBy.Select((o, i) => $"{Field(QueryGrammar.Path(o.Field, $"orderBy[{i}].field"))} {(o.Desc ? "DESC" : "ASC")}"));
        var definition = new QueryDefinition($"SELECT * FROM c WHERE {string.Join(" AND ", clauses)} ORDER BY {order}");
        foreach (var (name, value) in parameters) definition.WithParameter(name, value);
        return definition;
    }

    private static string Field(string[] path) => path switch
    {
        ["id"] => "c.recordId",
        ["createdAt"] => "c.createdAt",
        ["updatedAt"] => "c.updatedAt",
        _ => "c.data" + string.Concat(path.Select(segment => $"[\"{segment}\"]")),
    };

    public async Task<IReadOnlyList<string>> TablesAsync(string userId, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(userId, cancellationToken).ConfigureAwait(false);
        return await container.QueryPartitionAsync<string>(Spec.OwnerKey(userId), new QueryDefinition($"SELECT VALUE c.table FROM c WHERE c.type = '{TableType}' ORDER BY c.table"), cancellationToken).ConfigureAwait(false);
    }

    public async Task<long> CountAsync(string userId, string? table, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(userId, cancellationToken).ConfigureAwait(false);
        var query = table is null
            ? new QueryDefinition("SELECT VALUE COUNT(1) FROM c WHERE c.type = 'record'")
            : new QueryDefinition("SELECT VALUE COUNT(1) FROM c WHERE c.type = 'record' AND c.table = @table").WithParameter("@table", table);
        var counts = await container.QueryPartitionAsync<long>(Spec.OwnerKey(userId), query, cancellationToken).ConfigureAwait(false);
        return counts.Sum();
    }

    public async Task<IReadOnlyList<DataRecord>> SampleAsync(string userId, string table, int count, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(userId, cancellationToken).ConfigureAwait(false);
        var definition = new QueryDefinition("SELECT * FROM c WHERE c.type = 'record' AND c.table = @table ORDER BY c.updatedAt DESC OFFSET 0 LIMIT @count")
            .WithParameter("@table", table).WithParameter("@count", count);
        return (await container.QueryPartitionAsync<RecordDocument>(Spec.OwnerKey(userId), definition, cancellationToken).ConfigureAwait(false)).Select(d => d.ToRecord(d.ETag ?? "")).ToList();
    }

    public async Task<bool> EnsureTableAsync(string userId, string table, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(userId, cancellationToken).ConfigureAwait(false);
        var created = new TableDocument(TableId(table), userId, TableType, table) { CreatedAt = DateTimeOffset.UtcNow };
        var partition = Key(userId, created.Id);
        try
        {
            await container.CreateItemAsync(created, partition, NoContent, cancellationToken).ConfigureAwait(false);
            return false;
        }
        catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
        {
            var existing = await container.ReadOrNullAsync<TableDocument>(created.Id, partition, cancellationToken).ConfigureAwait(false);
            if (existing?.Resource.Type == TableType) return true;
            // The tombstone of a dropped table: the table is made again (a new generation, so the mirror starts it afresh).
            try
            {
                await container.ReplaceItemAsync(created, created.Id, partition, new ItemRequestOptions { IfMatchEtag = existing?.ETag, EnableContentResponseOnWrite = false }, cancellationToken).ConfigureAwait(false);
                return false;
            }
            catch (CosmosException again) when (again.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound)
            {
                return await EnsureTableAsync(userId, table, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The table's catalogue item becomes a tombstone (so the drop reaches the mirror); its records are removed.</summary>
    public async Task<bool> DropTableAsync(string userId, string table, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(userId, cancellationToken).ConfigureAwait(false);
        var partition = Key(userId, TableId(table));
        var existing = await container.ReadOrNullAsync<TableDocument>(TableId(table), partition, cancellationToken).ConfigureAwait(false);
        if (existing?.Resource.Type != TableType) return false;
        try
        {
            await container.ReplaceItemAsync(new TableDocument(TableId(table), userId, DeletedTableType, table) { Ttl = TombstoneTtlSeconds }, TableId(table), partition,
                new ItemRequestOptions { IfMatchEtag = existing.ETag, EnableContentResponseOnWrite = false }, cancellationToken).ConfigureAwait(false);
        }
        catch (CosmosException ex) when (ex.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound)
        {
            return await DropTableAsync(userId, table, cancellationToken).ConfigureAwait(false);
        }
        var ids = await container.QueryPartitionAsync<string>(Spec.OwnerKey(userId),
            new QueryDefinition($"SELECT VALUE c.id FROM c WHERE c.type IN ('{RecordType}', '{DeletedRecordType}') AND c.table = @table").WithParameter("@table", table), cancellationToken).ConfigureAwait(false);
        await container.DeleteItemsAsync(ids.Select(id => (id, Key(userId, id))), cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task<DateTimeOffset?> LastWrittenAtAsync(string userId, CancellationToken cancellationToken) =>
        await (await ContainerAsync(userId, cancellationToken).ConfigureAwait(false)).LastWrittenAtAsync(Spec.OwnerKey(userId), cancellationToken).ConfigureAwait(false);

    /// <summary>What the items of this container are: records and tables, and the tombstones of deleted ones (kept a day, for the change feed).</summary>
    public const string RecordType = "record", DeletedRecordType = "deleted-record", TableType = "table", DeletedTableType = "deleted-table";

    public const int TombstoneTtlSeconds = 24 * 60 * 60;

    public static string TableId(string table) => $"table:{table}";

    private static readonly ItemRequestOptions NoContent = new() { EnableContentResponseOnWrite = false };

    private static CosmosContainerSpec Spec => CosmosContainers.Records;

    private static PartitionKey Key(string userId, string id) => Spec.ShardedKey(userId, id);

    /// <summary>The container, once the user's records are all in it (<see cref="StoredDataMigration"/>).</summary>
    private async ValueTask<Container> ContainerAsync(string userId, CancellationToken cancellationToken)
    {
        await migration.EnsureMovedAsync(Spec, userId, cancellationToken).ConfigureAwait(false);
        return await store.GetContainerAsync(Spec, cancellationToken).ConfigureAwait(false);
    }

    private sealed record TableDocument(string Id, string UserId, string Type, string Table)
    {
        /// <summary>The second level of the item's key, from its id.</summary>
        public string Shard => CosmosContainers.ShardOf(Id);

        /// <summary>When this generation of the table was made (a table dropped and made again is a new one).</summary>
        public DateTimeOffset? CreatedAt { get; init; }

        public int? Ttl { get; init; }
    }

    private sealed record Tombstone(string Id, string UserId, string Type, string Table, string RecordId, int Ttl)
    {
        public string Shard => CosmosContainers.ShardOf(Id);
    }

    internal sealed record RecordDocument(string Id, string UserId, string Type, string Table, string RecordId, JsonObject Data, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
    {
        [System.Text.Json.Serialization.JsonPropertyName("_etag")]
        public string? ETag { get; init; }

        public string Shard => CosmosContainers.ShardOf(Id);

        public static string IdFor(string table, string id) => $"{table}:{id}";

        public static RecordDocument From(string userId, DataRecord r) => new(IdFor(r.Table, r.Id), userId, "record", r.Table, r.Id, r.Data, r.CreatedAt, r.UpdatedAt);

        public DataRecord ToRecord(string etag) => new(RecordId, Table, Data, etag, CreatedAt, UpdatedAt);
    }
}
