using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;
using Moq;
using SmartApp.Domain.Common.Health;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class HealthReporterTests
{
    private static HealthReport Report(HealthStatus status) =>
        new(new Dictionary<string, HealthReportEntry> { ["cosmos"] = new(status, null, TimeSpan.Zero, null, null) }, TimeSpan.Zero);

    [Fact]
    public async Task Checks_run_at_most_once_per_cache_window()
    {
        var clock = new FakeTimeProvider();
        var checks = new Mock<HealthCheckService>();
        checks.SetupSequence(c => c.CheckHealthAsync(It.IsAny<Func<HealthCheckRegistration, bool>?>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(Report(HealthStatus.Healthy))
            .ReturnsAsync(Report(HealthStatus.Unhealthy));
        var reporter = new HealthReporter(checks.Object, clock);

        Assert.Equal(HealthStatus.Healthy, (await reporter.GetReportAsync(default)).Status);
        Assert.Equal(HealthStatus.Healthy, (await reporter.GetReportAsync(default)).Status);
        clock.Advance(HealthReporter.CacheFor);
        Assert.Equal(HealthStatus.Unhealthy, (await reporter.GetReportAsync(default)).Status);
        checks.Verify(c => c.CheckHealthAsync(It.IsAny<Func<HealthCheckRegistration, bool>?>(), It.IsAny<CancellationToken>()), Times.Exactly(2));
    }
}
