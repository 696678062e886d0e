using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SmartApp.Domain.Common.Health;
using SmartApp.Functions.Http;

namespace SmartApp.Functions.Health;

/// <summary>Liveness for load balancers and the state of each dependency for operators.</summary>
public sealed class HealthFunctions(HealthReporter health)
{
    [Function("Health"), AllowAnonymous]
    public async Task<IActionResult> Get([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest req)
    {
        var report = await health.GetReportAsync(req.HttpContext.RequestAborted).ConfigureAwait(false);
        req.HttpContext.Response.Headers.CacheControl = "no-store";
        return new ObjectResult(new HealthResponse(Name(report.Status))) { StatusCode = StatusOf(report.Status) };
    }

    [Function("HealthDetails"), AdminOnly]
    public async Task<IActionResult> Details([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health/details")] HttpRequest req)
    {
        var report = await health.GetReportAsync(req.HttpContext.RequestAborted).ConfigureAwait(false);
        req.HttpContext.Response.Headers.CacheControl = "no-store";
        var dependencies = report.Entries.ToDictionary(e => e.Key, e => new DependencyResponse(
            Name(e.Value.Status),
            e.Value.Description,
            e.Value.Data.TryGetValue("latencyMs", out var latency) ? latency : (long)e.Value.Duration.TotalMilliseconds,
            e.Value.Data.TryGetValue("provider", out var provider) ? provider : null,
            e.Value.Data.TryGetValue("backlog", out var backlog) ? backlog : null,
            e.Value.Data.TryGetValue("backlogAgeSeconds", out var age) ? age : null));
        return new ObjectResult(new HealthDetailsResponse(Name(report.Status), (long)report.TotalDuration.TotalMilliseconds, dependencies))
        {
            StatusCode = StatusOf(report.Status),
        };
    }

    private static int StatusOf(HealthStatus status) =>
        status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;

    private static string Name(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "healthy",
        HealthStatus.Degraded => "degraded",
        _ => "unhealthy",
    };

    public sealed record HealthResponse(string Status);

    public sealed record HealthDetailsResponse(string Status, long TotalMs, IReadOnlyDictionary<string, DependencyResponse> Dependencies);

    /// <summary>One dependency: its state, and what its check reported (latency, provider, a mirror's backlog).</summary>
    public sealed record DependencyResponse(string Status, string? Description, object LatencyMs, object? Provider, object? Backlog, object? BacklogAgeSeconds);
}
