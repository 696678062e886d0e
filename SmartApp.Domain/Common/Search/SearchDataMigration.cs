using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Common.Search;

/// <summary>
/// Brings data written before Cosmos DB's vector search into the shape it searches, a batch per run, resumable at
/// any point (what is done is no longer found by the next run's query): file passages move from <c>files</c>
/// (one partition per user) to <c>passages</c> (one per file), and embeddings stored as base64 (<c>embedding</c>)
/// become vectors (<c>vector</c>). Until a passage has moved, the native engine does not find it.
/// </summary>
public sealed partial class SearchDataMigration(CosmosStore store, IOptions<SearchOptions> options, ILogger<SearchDataMigration> logger)
{
    /// <summary>Moves and converts up to a batch of each; returns how many passages moved and memories were converted.</summary>
    public async Task<(int Passages, int Memories)> RunAsync(CancellationToken cancellationToken)
    {
        var batch = options.Value.MigrationBatchSize;
        var passages = await MovePassagesAsync(batch, cancellationToken).ConfigureAwait(false);
        var memories = await ConvertMemoriesAsync(batch, cancellationToken).ConfigureAwait(false);
        if (passages + memories > 0) LogMigrated(logger, passages, memories);
        return (passages, memories);
    }

    /// <summary>
    /// Each passage is created in <c>passages</c> (one already there, written by a later ingestion, wins), then removed
    /// from <c>files</c> only as it was read; if it changed or went meanwhile (its file was deleted or re-indexed), the
    /// copy just made is removed again, so nothing deleted comes back.
    /// </summary>
    private async Task<int> MovePassagesAsync(int batch, CancellationToken cancellationToken)
    {
        var files = await store.GetContainerAsync(CosmosContainers.Files, cancellationToken).ConfigureAwait(false);
        var passages = await store.GetContainerAsync(CosmosContainers.Passages, cancellationToken).ConfigureAwait(false);
        var moved = 0;
        foreach (var item in await ReadBatchAsync(files, "SELECT TOP @batch * FROM c WHERE c.type = 'chunk'", batch, cancellationToken).ConfigureAwait(false))
        {
            var (id, userId, etag) = ((string)item["id"]!, (string)item["userId"]!, (string?)item["_etag"]);
            var key = CosmosContainers.Passages.ItemKey(userId, (string?)item["fileId"]);
            using var created = await passages.CreateItemStreamAsync(Stream(WithVector(item)), key, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!created.IsSuccessStatusCode && created.StatusCode != HttpStatusCode.Conflict) created.EnsureSuccessStatusCode();
            using var removed = await files.DeleteItemStreamAsync(id, new PartitionKey(userId), new ItemRequestOptions { IfMatchEtag = etag }, cancellationToken).ConfigureAwait(false);
            if (removed.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound)
            {
                if (created.IsSuccessStatusCode) (await passages.DeleteItemStreamAsync(id, key, cancellationToken: cancellationToken).ConfigureAwait(false)).Dispose();
                continue;
            }
            removed.EnsureSuccessStatusCode();
            moved++;
        }
        return moved;
    }

    /// <summary>Each memory is replaced with its vector only as it was read; one changed meanwhile is converted by a later run.</summary>
    private async Task<int> ConvertMemoriesAsync(int batch, CancellationToken cancellationToken)
    {
        var memories = await store.GetContainerAsync(CosmosContainers.Memories, cancellationToken).ConfigureAwait(false);
        var converted = 0;
        foreach (var item in await ReadBatchAsync(memories, "SELECT TOP @batch * FROM c WHERE c.type = 'memory' AND IS_DEFINED(c.embedding)", batch, cancellationToken).ConfigureAwait(false))
        {
            var (id, userId, etag) = ((string)item["id"]!, (string)item["userId"]!, (string?)item["_etag"]);
            using var replaced = await memories.ReplaceItemStreamAsync(Stream(WithVector(item)), id, new PartitionKey(userId), new ItemRequestOptions { IfMatchEtag = etag }, cancellationToken).ConfigureAwait(false);
            if (replaced.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound) continue;
            replaced.EnsureSuccessStatusCode();
            converted++;
        }
        return converted;
    }

    /// <summary>The only queries across users here: a batch of what is left to do.</summary>
    private static async Task<List<JsonObject>> ReadBatchAsync(Container container, string sql, int batch, CancellationToken cancellationToken)
    {
        var items = new List<JsonObject>();
        using var iterator = container.GetItemQueryStreamIterator(new QueryDefinition(sql).WithParameter("@batch", batch), requestOptions: new QueryRequestOptions { MaxItemCount = batch });
        while (iterator.HasMoreResults && items.Count < batch)
        {
            using var page = await iterator.ReadNextAsync(cancellationToken).ConfigureAwait(false);
            page.EnsureSuccessStatusCode();
            var body = await JsonNode.ParseAsync(page.Content, cancellationToken: cancellationToken).ConfigureAwait(false);
            items.AddRange(body?["Documents"]?.AsArray().OfType<JsonObject>() ?? []);
        }
        return items;
    }

    /// <summary>The item without Cosmos's system properties, its base64 embedding replaced by the vector.</summary>
    private static JsonObject WithVector(JsonObject item)
    {
        var copy = new JsonObject();
        foreach (var (name, value) in item)
            if (!name.StartsWith('_') && name != "embedding") copy[name] = value?.DeepClone();
        var vector = new JsonArray();
        foreach (var v in EmbeddingCodec.Decode((string?)item["embedding"])) vector.Add(v);
        copy["vector"] = vector;
        return copy;
    }

    private static MemoryStream Stream(JsonObject item) => new(System.Text.Encoding.UTF8.GetBytes(item.ToJsonString()));

    [LoggerMessage(EventId = 1204, Level = LogLevel.Information, Message = "Search data migration: {Passages} file passages moved to their own container, {Memories} memories given vectors")]
    private static partial void LogMigrated(ILogger logger, int passages, int memories);
}
