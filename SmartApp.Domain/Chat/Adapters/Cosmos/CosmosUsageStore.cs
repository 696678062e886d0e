using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Azure.Cosmos;
using SmartApp.Domain.Common.Storage;
using SmartApp.Domain.Model;

namespace SmartApp.Domain.Chat.Adapters.Cosmos;

/// <summary>
/// One item per user and UTC day (<c>id: tokens-yyyy-MM-dd</c>) and per user and UTC month (<c>tokens-yyyy-MM</c>)
/// in container <c>usage</c>, counted up with patch increments, so concurrent turns never lose a count; file
/// passages granted for indexing likewise per month (<c>passages-yyyy-MM</c>), and tool calls per day (<c>toolcalls-yyyy-MM-dd</c>).
/// </summary>
public sealed class CosmosUsageStore(CosmosStore store) : IUsageStore
{
    public async Task AddAsync(string userId, DateTimeOffset at, TokenUsage usage, CancellationToken cancellationToken)
    {
        var container = await store.GetContainerAsync(CosmosContainers.Usage, cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(
            IncrementAsync(container, userId, Period(UsagePeriod.Day, at), usage, cancellationToken),
            IncrementAsync(container, userId, Period(UsagePeriod.Month, at), usage, cancellationToken)).ConfigureAwait(false);
    }

    public async Task<UsageTotals> GetAsync(string userId, UsagePeriod period, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var container = await store.GetContainerAsync(CosmosContainers.Usage, cancellationToken).ConfigureAwait(false);
        return (await container.ReadOrNullAsync<UsageDocument>(Id(Period(period, at)), userId, cancellationToken).ConfigureAwait(false))?.Resource is { } item
            ? new UsageTotals(item.Messages, item.PromptTokens, item.CompletionTokens)
            : UsageTotals.None;
    }

    public Task AddPassagesAsync(string userId, DateTimeOffset at, int count, CancellationToken cancellationToken) =>
        AddCountAsync(userId, PassagesPrefix + Period(UsagePeriod.Month, at), "passages", count, cancellationToken);

    public Task<long> GetPassagesAsync(string userId, DateTimeOffset at, CancellationToken cancellationToken) =>
        GetCountAsync(userId, PassagesPrefix + Period(UsagePeriod.Month, at), "passages", cancellationToken);

    public Task<long> AddToolCallsAsync(string userId, DateTimeOffset at, int count, CancellationToken cancellationToken) =>
        AddCountAsync(userId, ToolCallsPrefix + Period(UsagePeriod.Day, at), "toolCalls", count, cancellationToken);

    public Task<long> GetToolCallsAsync(string userId, DateTimeOffset at, CancellationToken cancellationToken) =>
        GetCountAsync(userId, ToolCallsPrefix + Period(UsagePeriod.Day, at), "toolCalls", cancellationToken);

    /// <summary>One counter of a period (<c>{prefix}{period}</c>, its count in <paramref name="field"/>), counted up like the token totals; the new count.</summary>
    private async Task<long> AddCountAsync(string userId, string id, string field, int count, CancellationToken cancellationToken)
    {
        var container = await store.GetContainerAsync(CosmosContainers.Usage, cancellationToken).ConfigureAwait(false);
        var period = id[(id.IndexOf('-', StringComparison.Ordinal) + 1)..];
        var after = await IncrementAsync(container, userId, id, [PatchOperation.Increment("/" + field, count)],
            () => new JsonObject { ["id"] = id, ["userId"] = userId, ["type"] = field, ["period"] = period, [field] = count }, readBack: true, cancellationToken).ConfigureAwait(false);
        return after?[field]?.GetValue<long>() ?? count;
    }

    private async Task<long> GetCountAsync(string userId, string id, string field, CancellationToken cancellationToken)
    {
        var container = await store.GetContainerAsync(CosmosContainers.Usage, cancellationToken).ConfigureAwait(false);
        return (await container.ReadOrNullAsync<JsonObject>(id, userId, cancellationToken).ConfigureAwait(false))?.Resource?[field]?.GetValue<long>() ?? 0;
    }

    private static Task IncrementAsync(Container container, string userId, string period, TokenUsage usage, CancellationToken cancellationToken) =>
        IncrementAsync(container, userId, Id(period),
            [PatchOperation.Increment("/promptTokens", usage.PromptTokens), PatchOperation.Increment("/completionTokens", usage.CompletionTokens), PatchOperation.Increment("/messages", 1)],
            () => new UsageDocument(Id(period), userId, "tokens", period, Messages: 1, usage.PromptTokens, usage.CompletionTokens), readBack: false, cancellationToken);

    /// <summary>
    /// Patch increments on the period's item; the first write of a period creates it (a concurrent creator's item is patched
    /// instead). With <paramref name="readBack"/>, the item as the patch left it; null when this write created it.
    /// </summary>
    private static async Task<JsonObject?> IncrementAsync<T>(Container container, string userId, string id, PatchOperation[] increments, Func<T> first, bool readBack,
        CancellationToken cancellationToken)
    {
        var partition = new PartitionKey(userId);
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                var patched = await container.PatchItemAsync<JsonObject>(id, partition, increments, new PatchItemRequestOptions { EnableContentResponseOnWrite = readBack }, cancellationToken)
                    .ConfigureAwait(false);
                return readBack ? patched.Resource : null;
            }
            catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
            {
                try
                {
                    await container.CreateItemAsync(first(), partition, new ItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken).ConfigureAwait(false);
                    return null;
                }
                catch (CosmosException conflict) when (conflict.StatusCode == HttpStatusCode.Conflict)
                {
                    // Created by a concurrent writer: patch it.
                }
            }
        }
        return null;
    }

    private static string Period(UsagePeriod period, DateTimeOffset at) =>
        at.UtcDateTime.ToString(period == UsagePeriod.Day ? "yyyy-MM-dd" : "yyyy-MM", CultureInfo.InvariantCulture);

    private static string Id(string period) => "tokens-" + period;

    private const string PassagesPrefix = "passages-", ToolCallsPrefix = "toolcalls-";

    private sealed record UsageDocument(string Id, string UserId, string Type, string Period, int Messages, long PromptTokens, long CompletionTokens);
}
