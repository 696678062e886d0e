using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using SmartApp.Domain.Common.Telemetry;

namespace SmartApp.Domain.Common.Raindrop;

/// <summary>How far behind each area's mirror is: what health details and the backlog metrics report.</summary>
public sealed class MirrorStatus
{
    private readonly ConcurrentDictionary<string, AreaStatus> _areas = new(StringComparer.Ordinal);
    private readonly TimeProvider clock;

    public MirrorStatus(TimeProvider clock)
    {
        this.clock = clock;
        SmartAppTelemetry.Meter.CreateObservableGauge("smartapp.raindrop.mirror.backlog",
            () => _areas.Select(a => new Measurement<long>(a.Value.Backlog, new KeyValuePair<string, object?>("area", a.Key))),
            "{change}", "Changes read from the change feed (the outbox) and not yet applied to Raindrop");
        SmartAppTelemetry.Meter.CreateObservableGauge("smartapp.raindrop.mirror.backlog_age",
            () => _areas.Select(a => new Measurement<double>(AgeOfOldest(a.Value)?.TotalSeconds ?? 0, new KeyValuePair<string, object?>("area", a.Key))),
            "s", "Age of the oldest change not yet applied to Raindrop");
    }

    public IReadOnlyDictionary<string, AreaStatus> Areas => _areas;

    /// <summary>Changes read and waiting to be applied; <paramref name="oldest"/> is when the first of them was written.</summary>
    public void Waiting(string area, int count, DateTimeOffset? oldest) =>
        _areas.AddOrUpdate(area, _ => new AreaStatus(count, oldest, null, null), (_, s) => s with { Backlog = count, OldestWaitingAt = oldest ?? s.OldestWaitingAt });

    public void CaughtUp(string area) =>
        _areas.AddOrUpdate(area, _ => new AreaStatus(0, null, null, clock.GetUtcNow()), (_, s) => s with { Backlog = 0, OldestWaitingAt = null, LastError = null, CaughtUpAt = clock.GetUtcNow() });

    /// <summary>The area's feed was read at <paramref name="readAt"/> and had nothing new: everything written before then is in Raindrop.</summary>
    public void Drained(string area, DateTimeOffset readAt) =>
        _areas.AddOrUpdate(area, _ => new AreaStatus(0, null, null, clock.GetUtcNow()) { DrainedAt = readAt },
            (_, s) => s with { Backlog = 0, OldestWaitingAt = null, LastError = null, CaughtUpAt = clock.GetUtcNow(), DrainedAt = readAt });

    public void Failed(string area, string error) =>
        _areas.AddOrUpdate(area, _ => new AreaStatus(0, null, error, null), (_, s) => s with { LastError = error });

    public TimeSpan? AgeOfOldest(AreaStatus status) => status.OldestWaitingAt is { } at ? clock.GetUtcNow() - at : null;
}

/// <param name="Backlog">Changes read from the feed and not yet applied (at most one batch is read ahead).</param>
public sealed record AreaStatus(int Backlog, DateTimeOffset? OldestWaitingAt, string? LastError, DateTimeOffset? CaughtUpAt)
{
    /// <summary>When this instance last found the feed empty (the time the read started).</summary>
    public DateTimeOffset? DrainedAt { get; init; }
}
