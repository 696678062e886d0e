using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SmartApp.Domain.Common.Health;

/// <summary>
/// Runs the registered health checks, at most once per <see cref="CacheFor"/>: the anonymous
/// health route cannot be used to put load on storage.
/// </summary>
public sealed class HealthReporter(HealthCheckService checks, TimeProvider clock)
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(4);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile Snapshot? _last;

    public async Task<HealthReport> GetReportAsync(CancellationToken cancellationToken)
    {
        if (Fresh() is { } cached) return cached;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Fresh() is { } again) return again;
            var report = await checks.CheckHealthAsync(cancellationToken).ConfigureAwait(false);
            _last = new Snapshot(report, clock.GetUtcNow());
            return report;
        }
        finally
        {
            _gate.Release();
        }
    }

    private HealthReport? Fresh() =>
        _last is { } last && clock.GetUtcNow() - last.At < CacheFor ? last.Report : null;

    private sealed record Snapshot(HealthReport Report, DateTimeOffset At);
}
