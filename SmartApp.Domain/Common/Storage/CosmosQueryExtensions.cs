using System.Buffers.Text;
using System.Net;
using System.Text;
using Microsoft.Azure.Cosmos;
using SmartApp.Domain.Common.Errors;

namespace SmartApp.Domain.Common.Storage;

/// <summary>Reads, pages and deletes within one partition (never across partitions).</summary>
public static class CosmosQueryExtensions
{
    /// <summary>Every result of a query within one partition (never a cross-partition query), read page by page.</summary>
    public static Task<List<T>> QueryPartitionAsync<T>(this Container container, string partitionKey, QueryDefinition query, CancellationToken cancellationToken, int pageSize = 1000) =>
        container.QueryPartitionAsync<T>(new PartitionKey(partitionKey), query, cancellationToken, pageSize);

    /// <summary>Every result of a query scoped by a partition key (a whole key, or a hierarchical key's prefix), read page by page.</summary>
    public static async Task<List<T>> QueryPartitionAsync<T>(this Container container, PartitionKey partitionKey, QueryDefinition query, CancellationToken cancellationToken, int pageSize = 1000)
    {
        var results = new List<T>();
        using var iterator = container.GetItemQueryIterator<T>(query,
            requestOptions: new QueryRequestOptions { PartitionKey = partitionKey, MaxItemCount = pageSize });
        while (iterator.HasMoreResults)
            results.AddRange(await iterator.ReadNextAsync(cancellationToken).ConfigureAwait(false));
        return results;
    }

    /// <summary>Every result of a query over all partitions: only for work off the request path that must find items by another field (an owner).</summary>
    public static async Task<List<T>> QueryAcrossPartitionsAsync<T>(this Container container, QueryDefinition query, CancellationToken cancellationToken)
    {
        var results = new List<T>();
        using var iterator = container.GetItemQueryIterator<T>(query, requestOptions: new QueryRequestOptions { MaxItemCount = 1000 });
        while (iterator.HasMoreResults)
            results.AddRange(await iterator.ReadNextAsync(cancellationToken).ConfigureAwait(false));
        return results;
    }

    /// <summary>
    /// One page of a query within one partition. The cursor is the store's continuation token,
    /// base64url so that it travels in a query string; one the API did not hand out is a 400 naming <c>cursor</c>.
    /// </summary>
    public static Task<(List<T> Items, string? Cursor)> QueryPageAsync<T>(this Container container, string partitionKey, QueryDefinition query, string? cursor, int limit, CancellationToken cancellationToken) =>
        container.QueryPageAsync<T>(new PartitionKey(partitionKey), query, cursor, limit, cancellationToken);

    /// <summary>One page of a query scoped by a partition key (a whole key, or a hierarchical key's prefix); the cursor as above.</summary>
    public static async Task<(List<T> Items, string? Cursor)> QueryPageAsync<T>(this Container container, PartitionKey partitionKey, QueryDefinition query, string? cursor, int limit, CancellationToken cancellationToken)
    {
        string? continuation;
        try
        {
            continuation = cursor is null ? null : Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
        }
        catch (FormatException)
        {
            throw InvalidCursor();
        }
        using var iterator = container.GetItemQueryIterator<T>(query, continuation, new QueryRequestOptions { PartitionKey = partitionKey, MaxItemCount = limit });
        try
        {
            var page = await iterator.ReadNextAsync(cancellationToken).ConfigureAwait(false);
            return ([.. page], page.ContinuationToken is { } token ? Base64Url.EncodeToString(Encoding.UTF8.GetBytes(token)) : null);
        }
        catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.BadRequest && cursor is not null)
        {
            throw InvalidCursor();
        }
    }

    /// <summary>
    /// A point read in one partition; null when the item does not exist. A miss is an ordinary answer
    /// here (an event not yet applied, a session not yet summarised), so it is read as a status code
    /// rather than caught as an exception.
    /// </summary>
    public static Task<ItemResponse<T>?> ReadOrNullAsync<T>(this Container container, string id, string partitionKey, CancellationToken cancellationToken) =>
        container.ReadOrNullAsync<T>(id, new PartitionKey(partitionKey), cancellationToken);

    public static async Task<ItemResponse<T>?> ReadOrNullAsync<T>(this Container container, string id, PartitionKey partitionKey, CancellationToken cancellationToken)
    {
        if (!IsPossibleId(id)) return null; // no item can have it, and it must not reach Cosmos as part of a URL
        using var message = await container.ReadItemStreamAsync(id, partitionKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (message.StatusCode == HttpStatusCode.NotFound) return null;
        message.EnsureSuccessStatusCode();
        return container.Database.Client.ResponseFactory.CreateItemResponse<T>(message);
    }

    /// <summary>When anything in the partition was last written (Cosmos's <c>_ts</c>, whole seconds); null for an empty partition.</summary>
    public static Task<DateTimeOffset?> LastWrittenAtAsync(this Container container, string partitionKey, CancellationToken cancellationToken) =>
        container.LastWrittenAtAsync(new PartitionKey(partitionKey), cancellationToken);

    public static async Task<DateTimeOffset?> LastWrittenAtAsync(this Container container, PartitionKey partitionKey, CancellationToken cancellationToken)
    {
        var stamps = await container.QueryPartitionAsync<long>(partitionKey, new QueryDefinition("SELECT TOP 1 VALUE c._ts FROM c ORDER BY c._ts DESC"), cancellationToken).ConfigureAwait(false);
        return stamps.Count > 0 ? DateTimeOffset.FromUnixTimeSeconds(stamps[0]) : null;
    }

    /// <summary>
    /// Whether a string can be a Cosmos DB item id: 1-255 characters, none of <c>/ \ ? # %</c>, no
    /// control characters. Ids from clients are checked before they are used to address an item.
    /// </summary>
    public static bool IsPossibleId(string? id) =>
        id is { Length: > 0 and <= 255 } && !id.Any(c => c is '/' or '\\' or '?' or '#' or '%' || char.IsControl(c) || char.IsSurrogate(c) || c == '\uFFFD');

    /// <summary>Deletes the items of one partition, eight at a time; items already gone are fine (a retried deletion).</summary>
    public static Task DeleteItemsAsync(this Container container, string partitionKey, IEnumerable<string> ids, CancellationToken cancellationToken) =>
        container.DeleteItemsAsync(new PartitionKey(partitionKey), ids, cancellationToken);

    public static Task DeleteItemsAsync(this Container container, PartitionKey partition, IEnumerable<string> ids, CancellationToken cancellationToken) =>
        container.DeleteItemsAsync(ids.Select(id => (id, partition)), cancellationToken);

    /// <summary>Deletes items each under its own key (of one owner's sharded items), eight at a time; items already gone are fine.</summary>
    public static Task DeleteItemsAsync(this Container container, IEnumerable<(string Id, PartitionKey Key)> items, CancellationToken cancellationToken)
    {
        return Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (item, token) =>
        {
            try
            {
                await container.DeleteItemAsync<object>(item.Id, item.Key, cancellationToken: token).ConfigureAwait(false);
            }
            catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
            {
            }
        });
    }

    private static ValidationFailedException InvalidCursor() => new("cursor", "'cursor' is not one this API returned.");
}
