using Microsoft.Azure.Cosmos;

namespace SmartApp.Domain.Common.Storage;

public static class CosmosQueryExtensions
{
    /// <summary>Every result of a query within one partition (never a cross-partition query), read page by page.</summary>
    public static async Task<List<T>> QueryPartitionAsync<T>(this Container container, string partitionKey, QueryDefinition query, CancellationToken cancellationToken, int pageSize = 1000)
    {
        var results = new List<T>();
        using var iterator = container.GetItemQueryIterator<T>(query,
            requestOptions: new QueryRequestOptions { PartitionKey = new PartitionKey(partitionKey), MaxItemCount = pageSize });
        while (iterator.HasMoreResults)
            results.AddRange(await iterator.ReadNextAsync(cancellationToken).ConfigureAwait(false));
        return results;
    }
}
