using System.Globalization;
using System.Net;
using Microsoft.Azure.Cosmos;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Chat.Adapters.Cosmos;

/// <summary>One item per user and day in container <c>usage</c> (<c>id: tokens-yyyy-MM-dd</c>), counted up with patch increments, so concurrent turns never lose a count.</summary>
public sealed class CosmosUsageStore(CosmosStore store) : IUsageStore
{
    public async Task AddAsync(string userId, DateOnly day, TokenUsage usage, CancellationToken cancellationToken)
    {
        var container = await store.GetContainerAsync(CosmosContainers.Usage, cancellationToken).ConfigureAwait(false);
        var partition = new PartitionKey(userId);
        var id = Id(day);
        PatchOperation[] increments = [PatchOperation.Increment("/promptTokens", usage.PromptTokens), PatchOperation.Increment("/completionTokens", usage.CompletionTokens), PatchOperation.Increment("/messages", 1)];
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                await container.PatchItemAsync<object>(id, partition, increments, new PatchItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
            {
                try
                {
                    var first = new UsageDocument(id, userId, "tokens", day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), usage.PromptTokens, usage.CompletionTokens, 1);
                    await container.CreateItemAsync(first, partition, new ItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (CosmosException conflict) when (conflict.StatusCode == HttpStatusCode.Conflict)
                {
                    // Created by a concurrent turn: patch it.
                }
            }
        }
    }

    public async Task<DailyUsage> GetAsync(string userId, DateOnly day, CancellationToken cancellationToken)
    {
        var container = await store.GetContainerAsync(CosmosContainers.Usage, cancellationToken).ConfigureAwait(false);
        return (await container.ReadOrNullAsync<UsageDocument>(Id(day), userId, cancellationToken).ConfigureAwait(false))?.Resource is { } item
            ? new DailyUsage(item.Messages, item.PromptTokens, item.CompletionTokens)
            : new DailyUsage(0, 0, 0);
    }

    private static string Id(DateOnly day) => "tokens-" + day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private sealed record UsageDocument(string Id, string UserId, string Type, string Day, int PromptTokens, int CompletionTokens, int Messages);
}
