using System.Net;
using System.Text.Json;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Common.Raindrop;

/// <summary>
/// Mirrors Cosmos to Raindrop without dual writes: the change feed of each capability's container is
/// the outbox (durable, ordered per user). Each tick of the <c>MirrorToRaindrop</c> timer (one at a time
/// across every instance: the host's timer singleton) reads each area's feed from its saved position,
/// applies the changes one by one in order, and saves the new position only when all of them were
/// applied; a failure leaves the position where it was, and the same changes are read again on a later
/// tick, after a wait that doubles up to <see cref="RaindropOptions.MirrorMaxBackoff"/>. Handlers skip
/// what they already sent (the ledger), so a change read twice reaches Raindrop once. A tick stops taking
/// new batches after <see cref="TickBudget"/>, so no invocation nears the function timeout.
/// </summary>
public sealed partial class RaindropMirror(
    IEnumerable<IMirrorHandler> handlers, CosmosStore store, MirrorLedger ledger, MirrorStatus status,
    IOptions<RaindropOptions> options, TimeProvider clock, ILogger<RaindropMirror> logger)
{
    /// <summary>How long one tick keeps taking batches (the rest waits for the next tick).</summary>
    public static readonly TimeSpan TickBudget = TimeSpan.FromSeconds(60);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (int Failures, DateTimeOffset RetryAt)> _failing = new(StringComparer.Ordinal);

    /// <summary>One tick: every enabled area brought up to date, as far as the budget goes.</summary>
    public async Task TickAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.IsConfigured) return;
        var started = clock.GetTimestamp();
        foreach (var handler in handlers.Where(h => h.Enabled))
        {
            if (_failing.TryGetValue(handler.Area, out var failing) && failing.RetryAt > clock.GetUtcNow()) continue;
            try
            {
                while (await MirrorBatchAsync(handler, cancellationToken).ConfigureAwait(false) && clock.GetElapsedTime(started) < TickBudget) { }
                _failing.TryRemove(handler.Area, out _);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                var failures = (failing.Failures) + 1;
                var wait = TimeSpan.FromTicks(Math.Min(options.Value.MirrorMaxBackoff.Ticks, TimeSpan.FromSeconds(1).Ticks << Math.Min(failures, 20)));
                _failing[handler.Area] = (failures, clock.GetUtcNow() + wait);
                status.Failed(handler.Area, ex.Message);
                LogFailed(logger, handler.Area, failures, ex.Message);
            }
        }
    }

    /// <summary>One page of changes, applied in order. True when there may be more right away.</summary>
    internal async Task<bool> MirrorBatchAsync(IMirrorHandler handler, CancellationToken cancellationToken)
    {
        var position = await ledger.ReadPositionAsync(handler.Area, cancellationToken).ConfigureAwait(false);
        var container = await store.GetContainerAsync(handler.Container, cancellationToken).ConfigureAwait(false);
        var readAt = clock.GetUtcNow();
        var start = position is null ? ChangeFeedStartFrom.Beginning() : ChangeFeedStartFrom.ContinuationToken(position);
        using var feed = container.GetChangeFeedIterator<JsonElement>(start, ChangeFeedMode.LatestVersion,
            new ChangeFeedRequestOptions { PageSizeHint = options.Value.MirrorBatchSize });
        var page = await feed.ReadNextAsync(cancellationToken).ConfigureAwait(false);
        if (page.StatusCode == HttpStatusCode.NotModified)
        {
            await NoteDrainedAsync(handler.Area, readAt, cancellationToken).ConfigureAwait(false);
            return false;
        }
        var changes = page.ToList();
        await ApplyChangesAsync(handler, changes, status, logger, cancellationToken).ConfigureAwait(false);
        await ledger.SavePositionAsync(handler.Area, page.ContinuationToken, cancellationToken).ConfigureAwait(false);
        status.CaughtUp(handler.Area);
        return changes.Count > 0;
    }

    /// <summary>
    /// The batch step: each change applied in order. A change Raindrop refuses for good is logged and skipped; any other
    /// failure stops the batch and is thrown, so the position is not saved and the batch is read again.
    /// </summary>
    internal static async Task ApplyChangesAsync(IMirrorHandler handler, IReadOnlyList<JsonElement> changes, MirrorStatus status, ILogger logger, CancellationToken cancellationToken)
    {
        for (var i = 0; i < changes.Count; i++)
        {
            status.Waiting(handler.Area, changes.Count - i, WrittenAt(changes[i]));
            try
            {
                await handler.ApplyAsync(changes[i], cancellationToken).ConfigureAwait(false);
            }
            catch (RaindropException ex) when (ex.Status is 400 or 404 or 413 or 415 or 422)
            {
                // Raindrop refuses this one change for good: trying again cannot help, and it must not hold up the rest.
                LogRefused(logger, handler.Area, Id(changes[i]), ex.Message);
            }
        }
    }

    /// <summary>
    /// Everything written before <paramref name="readAt"/> is in Raindrop: known here at once, and saved in the
    /// ledger for the other instances (one write per area and tick: the mirror runs on one instance at a time).
    /// </summary>
    private async Task NoteDrainedAsync(string area, DateTimeOffset readAt, CancellationToken cancellationToken)
    {
        status.Drained(area, readAt);
        await ledger.SaveDrainedAtAsync(area, readAt, cancellationToken).ConfigureAwait(false);
    }

    private static DateTimeOffset? WrittenAt(JsonElement change) =>
        change.TryGetProperty("_ts", out var ts) && ts.TryGetInt64(out var seconds) ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;

    private static string Id(JsonElement change) => change.TryGetProperty("id", out var id) ? id.GetString() ?? "" : "";

    [LoggerMessage(EventId = 9002, Level = LogLevel.Warning, Message = "Raindrop mirror for {Area} could not apply changes (failure {Failures} in a row); it keeps its position and tries again: {Error}")]
    private static partial void LogFailed(ILogger logger, string area, int failures, string error);

    [LoggerMessage(EventId = 9003, Level = LogLevel.Error, Message = "Raindrop refused the {Area} change of {ItemId} for good; skipped: {Error}")]
    private static partial void LogRefused(ILogger logger, string area, string itemId, string error);
}
