using System.Net;
using Microsoft.Azure.Cosmos;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Memory.Adapters.Cosmos;

/// <summary>
/// Memory in container <c>memories-v2</c>: a point read or write names the item's full key (the user and the item's
/// shard), a query the user's prefix of it, so nothing here reaches another user's items.
/// </summary>
public sealed class CosmosMemoryStore(CosmosStore store, StoredDataMigration migration, TimeProvider clock) : IMemoryStore
{
    /// <summary>A memory that is neither deleted nor expired (Cosmos DB hides an expired item itself; the emulator may not yet have removed it).</summary>
    private const string Live = "c.type = 'memory' AND NOT IS_DEFINED(c.deleted) AND (NOT IS_DEFINED(c.expiresAt) OR c.expiresAt > @now)";
    private const string EntryFields = "c.id, c.kind, c.content, c.sessionId, c.timeline, c.key, c.agent, c.at, c.expiresAt, c.metadata, c.origin, c.topic, c.source";

    public async Task CreateSessionAsync(string userId, MemorySession session, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(userId, cancellationToken).ConfigureAwait(false);
        await container.CreateItemAsync(MemoryDocument.From(userId, session), Key(userId, session.Id), NoContent, cancellationToken).ConfigureAwait(false);
    }

    public async Task<MemorySession?> FindSessionAsync(string userId, string sessionId, CancellationToken cancellationToken)
    {
        var document = await ReadAsync(userId, sessionId, cancellationToken).ConfigureAwait(false);
        return document?.Resource.Type == MemoryDocument.SessionType ? document.Resource.ToSession() : null;
    }

    public async Task<bool> TryEndSessionAsync(string userId, MemorySession ended, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(userId, cancellationToken).ConfigureAwait(false);
        var current = await ReadAsync(userId, ended.Id, cancellationToken).ConfigureAwait(false);
        if (current is null || current.Resource.EndedAt is not null) return false;
        try
        {
            await container.ReplaceItemAsync(MemoryDocument.From(userId, ended), ended.Id, Key(userId, ended.Id),
                new ItemRequestOptions { IfMatchEtag = current.ETag, EnableContentResponseOnWrite = false }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.PreconditionFailed)
        {
            return false; // ended at the same moment elsewhere
        }
    }

    public async Task PutAsync(string userId, NewMemory memory, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(userId, cancellationToken).ConfigureAwait(false);
        var document = MemoryDocument.From(userId, memory);
        var partition = Key(userId, document.Id);
        try
        {
            await container.CreateItemAsync(document, partition, NoContent, cancellationToken).ConfigureAwait(false);
        }
        catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
        {
            // The same memory again (its id is derived from what it says): keep the one stored,
            // unless what is stored is the tombstone of a deleted one, which the repeat brings back.
            var existing = await ReadAsync(userId, document.Id, cancellationToken).ConfigureAwait(false);
            if (existing is null || existing.Resource.Deleted == true)
                await container.UpsertItemAsync(document, partition,
                    new ItemRequestOptions { IfMatchEtag = existing?.ETag, EnableContentResponseOnWrite = false }, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task UpsertAsync(string userId, NewMemory memory, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(userId, cancellationToken).ConfigureAwait(false);
        await container.UpsertItemAsync(MemoryDocument.From(userId, memory), Key(userId, memory.Entry.Id), NoContent, cancellationToken).ConfigureAwait(false);
    }

    public async Task<MemoryEntry?> FindAsync(string userId, string memoryId, CancellationToken cancellationToken)
    {
        var document = await ReadAsync(userId, memoryId, cancellationToken).ConfigureAwait(false);
        return LiveEntry(document?.Resource);
    }

    public async Task<MemoryEntry?> UpdateAsync(string userId, string memoryId, Func<MemoryEntry, NewMemory?> change, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(userId, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var current = await ReadAsync(userId, memoryId, cancellationToken).ConfigureAwait(false);
            if (LiveEntry(current?.Resource) is not { } entry) return null;
            if (change(entry) is not { } changed) return entry;
            try
            {
                await container.ReplaceItemAsync(MemoryDocument.From(userId, changed), memoryId, Key(userId, memoryId),
                    new ItemRequestOptions { IfMatchEtag = current!.ETag, EnableContentResponseOnWrite = false }, cancellationToken).ConfigureAwait(false);
                return changed.Entry;
            }
            catch (CosmosException ex) when (ex.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound)
            {
                // Written meanwhile: change it as it is now.
            }
        }
    }

    public async Task<MemoryPage> ListAsync(string userId, MemoryFilter filter, string? cursor, int limit, CancellationToken cancellationToken)
    {
        var filters = new List<string> { Live };
        var parameters = new Dictionary<string, object> { ["@now"] = clock.GetUtcNow().ToUniversalTime() };
        void Filter(string clause, string name, object? value)
        {
            if (value is null) return;
            filters.Add(clause);
            parameters[name] = value;
        }
        Filter("ARRAY_CONTAINS(@kinds, c.kind)", "@kinds", filter.Kinds?.Select(EnumNames.Of).ToArray());
        Filter("c.timeline = @timeline", "@timeline", filter.Timeline);
        Filter("c.origin = @origin", "@origin", filter.Origin is { } origin ? EnumNames.Of(origin) : null);
        Filter("c.at >= @from", "@from", filter.From?.ToUniversalTime());
        Filter("c.at < @to", "@to", filter.To?.ToUniversalTime());
        var i = 0;
        foreach (var (name, value) in filter.Metadata ?? new Dictionary<string, string>())
        {
            // The name is one MemoryService.MetadataName accepted (letters, digits, '_', '-', '.'): safe inside quotes.
            if (!MemoryService.IsMetadataName(name)) throw new ArgumentException($"Invalid metadata name '{name}'.", nameof(filter));
            filters.Add($"c.metadata['{name}'] = @metaValue{i}");
            parameters[$"@metaValue{i}"] = value;
            i++;
        }
        var definition = new QueryDefinition($"SELECT {EntryFields}, c.updatedAt, c.document, c.summarizedBy, c.entryCount, c.timelineCount, c.durationMs FROM c " +
            $"WHERE {string.Join(" AND ", filters)} ORDER BY c.at DESC");
        foreach (var (name, value) in parameters) definition.WithParameter(name, value);
        var (items, next) = await (await ContainerAsync(userId, cancellationToken).ConfigureAwait(false))
            .QueryPageAsync<MemoryDocument>(Spec.OwnerKey(userId), definition, cursor, limit, cancellationToken).ConfigureAwait(false);
        return new MemoryPage(items.Select(d => d.ToEntry()).ToList(), next);
    }

    public async Task<MemorySettings> GetSettingsAsync(string userId, CancellationToken cancellationToken) =>
        (await ReadAsync(userId, MemoryDocument.SettingsId, cancellationToken).ConfigureAwait(false))?.Resource is { Type: MemoryDocument.SettingsType } settings
            ? new MemorySettings(settings.Learning ?? true)
            : MemorySettings.Default;

    public async Task PutSettingsAsync(string userId, MemorySettings settings, CancellationToken cancellationToken) =>
        await (await ContainerAsync(userId, cancellationToken).ConfigureAwait(false))
            .UpsertItemAsync(MemoryDocument.From(userId, settings), Key(userId, MemoryDocument.SettingsId), NoContent, cancellationToken).ConfigureAwait(false);

    public async Task PutForgottenAsync(string userId, ForgottenSubject subject, CancellationToken cancellationToken) =>
        await (await ContainerAsync(userId, cancellationToken).ConfigureAwait(false))
            .UpsertItemAsync(MemoryDocument.From(userId, subject), Key(userId, subject.Id), NoContent, cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<ForgottenSubject>> ListForgottenAsync(string userId, int max, CancellationToken cancellationToken)
    {
        var definition = new QueryDefinition("SELECT c.id, c.userId, c.type, c.content, c.topic, c.vector, c.at FROM c WHERE c.type = 'forgotten' ORDER BY c.at DESC OFFSET 0 LIMIT @max")
            .WithParameter("@max", max);
        return (await QueryAsync(userId, definition, cancellationToken).ConfigureAwait(false)).Select(d => d.ToForgotten()).ToList();
    }

    public async Task RemoveForgottenAsync(string userId, string subjectId, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(userId, cancellationToken).ConfigureAwait(false);
        try
        {
            await container.DeleteItemAsync<MemoryDocument>(subjectId, Key(userId, subjectId), NoContent, cancellationToken).ConfigureAwait(false);
        }
        catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            // already gone
        }
    }

    public async Task<bool> WasLearnedFromAsync(string userId, string messageId, CancellationToken cancellationToken) =>
        (await ReadAsync(userId, LearnedId(messageId), cancellationToken).ConfigureAwait(false))?.Resource.Type == MemoryDocument.LearnedType;

    public async Task MarkLearnedFromAsync(string userId, string messageId, DateTimeOffset at, CancellationToken cancellationToken) =>
        await (await ContainerAsync(userId, cancellationToken).ConfigureAwait(false))
            .UpsertItemAsync(MemoryDocument.Learned(userId, LearnedId(messageId), at), Key(userId, LearnedId(messageId)), NoContent, cancellationToken).ConfigureAwait(false);

    private static string LearnedId(string messageId) => $"lrn_{messageId}";

    /// <summary>The entry, when the item is a memory that is neither deleted nor expired.</summary>
    private MemoryEntry? LiveEntry(MemoryDocument? document) =>
        document is { Type: MemoryDocument.MemoryType, Deleted: not true } && document.ToEntry() is var entry && !entry.IsExpired(clock.GetUtcNow()) ? entry : null;

    public async Task<IReadOnlyList<MemoryEntry>> ListSessionAsync(string userId, string sessionId, MemoryListQuery query, CancellationToken cancellationToken)
    {
        var filters = new List<string> { Live, "c.kind = 'working'", "c.sessionId = @session" };
        var parameters = new Dictionary<string, object> { ["@session"] = sessionId, ["@last"] = query.Last, ["@now"] = Now };
        void Filter(string clause, string name, object? value)
        {
            if (value is null) return;
            filters.Add(clause);
            parameters[name] = value;
        }
        Filter("c.timeline = @timeline", "@timeline", query.Timeline);
        Filter("c.key = @key", "@key", query.Key);
        Filter("c.at >= @from", "@from", query.From?.ToUniversalTime());
        Filter("c.at < @to", "@to", query.To?.ToUniversalTime());
        var definition = new QueryDefinition($"SELECT {EntryFields} FROM c WHERE {string.Join(" AND ", filters)} ORDER BY c.at DESC OFFSET 0 LIMIT @last");
        foreach (var (name, value) in parameters) definition.WithParameter(name, value);
        return (await QueryAsync(userId, definition, cancellationToken).ConfigureAwait(false)).Select(d => d.ToEntry()).ToList();
    }

    public async Task<IReadOnlyList<NewMemory>> ReadSessionForSummaryAsync(string userId, string sessionId, int max, CancellationToken cancellationToken)
    {
        var definition = new QueryDefinition($"SELECT {EntryFields}, c.vector FROM c WHERE {Live} AND c.kind = 'working' AND c.sessionId = @session ORDER BY c.at DESC OFFSET 0 LIMIT @max")
            .WithParameter("@session", sessionId).WithParameter("@max", max).WithParameter("@now", Now);
        var newestFirst = await QueryAsync(userId, definition, cancellationToken).ConfigureAwait(false);
        return newestFirst.AsEnumerable().Reverse().Select(d => new NewMemory(d.ToEntry(), d.Vector ?? [])).ToList();
    }

    public async Task<IReadOnlyList<MemoryEntry>> ListProceduresAsync(string userId, CancellationToken cancellationToken)
    {
        var definition = new QueryDefinition($"SELECT {EntryFields}, c.updatedAt FROM c WHERE {Live} AND c.kind = 'procedural' ORDER BY c.key").WithParameter("@now", Now);
        return (await QueryAsync(userId, definition, cancellationToken).ConfigureAwait(false)).Select(d => d.ToEntry()).ToList();
    }

    public async Task<bool> DeleteAsync(string userId, string memoryId, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(userId, cancellationToken).ConfigureAwait(false);
        var existing = await ReadAsync(userId, memoryId, cancellationToken).ConfigureAwait(false);
        if (existing?.Resource is not { Type: MemoryDocument.MemoryType, Deleted: not true } memory || LiveEntry(memory) is null) return false;
        try
        {
            await container.ReplaceItemAsync(MemoryDocument.Tombstone(userId, memoryId, memory.Kind), memoryId, Key(userId, memoryId),
                new ItemRequestOptions { IfMatchEtag = existing.ETag, EnableContentResponseOnWrite = false }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (CosmosException ex) when (ex.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound)
        {
            // Changed or deleted meanwhile: delete whatever is there now.
            return await DeleteAsync(userId, memoryId, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<long> CountAsync(string userId, CancellationToken cancellationToken) =>
        (await (await ContainerAsync(userId, cancellationToken).ConfigureAwait(false))
            .QueryPartitionAsync<long>(Spec.OwnerKey(userId), new QueryDefinition($"SELECT VALUE COUNT(1) FROM c WHERE {Live}").WithParameter("@now", Now), cancellationToken).ConfigureAwait(false)).Sum();

    public async Task<DateTimeOffset?> LastWrittenAtAsync(string userId, CancellationToken cancellationToken) =>
        await (await ContainerAsync(userId, cancellationToken).ConfigureAwait(false)).LastWrittenAtAsync(Spec.OwnerKey(userId), cancellationToken).ConfigureAwait(false);

    private DateTimeOffset Now => clock.GetUtcNow().ToUniversalTime();

    private static readonly ItemRequestOptions NoContent = new() { EnableContentResponseOnWrite = false };

    private static CosmosContainerSpec Spec => CosmosContainers.Memories;

    private static PartitionKey Key(string userId, string id) => Spec.ShardedKey(userId, id);

    /// <summary>The container, once the user's memories are all in it (<see cref="StoredDataMigration"/>).</summary>
    private async ValueTask<Container> ContainerAsync(string userId, CancellationToken cancellationToken)
    {
        await migration.EnsureMovedAsync(Spec, userId, cancellationToken).ConfigureAwait(false);
        return await store.GetContainerAsync(Spec, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ItemResponse<MemoryDocument>?> ReadAsync(string userId, string id, CancellationToken cancellationToken) =>
        await (await ContainerAsync(userId, cancellationToken).ConfigureAwait(false)).ReadOrNullAsync<MemoryDocument>(id, Key(userId, id), cancellationToken).ConfigureAwait(false);

    private async Task<List<MemoryDocument>> QueryAsync(string userId, QueryDefinition definition, CancellationToken cancellationToken) =>
        await (await ContainerAsync(userId, cancellationToken).ConfigureAwait(false)).QueryPartitionAsync<MemoryDocument>(Spec.OwnerKey(userId), definition, cancellationToken).ConfigureAwait(false);
}
