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
        return new ObjectResult(new { status = Name(report.Status) }) { StatusCode = StatusOf(report.Status) };
    }

    [Function("HealthDetails"), AdminOnly]
    public async Task<IActionResult> Details([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health/details")] HttpRequest req)
    {
        var report = await health.GetReportAsync(req.HttpContext.RequestAborted).ConfigureAwait(false);
        req.HttpContext.Response.Headers.CacheControl = "no-store";
        var dependencies = report.Entries.ToDictionary(e => e.Key, e => new
        {
            status = Name(e.Value.Status),
            description = e.Value.Description,
            latencyMs = e.Value.Data.TryGetValue("latencyMs", out var latency) ? latency : (long)e.Value.Duration.TotalMilliseconds,
            provider = e.Value.Data.TryGetValue("provider", out var provider) ? provider : null,
            backlog = e.Value.Data.TryGetValue("backlog", out var backlog) ? backlog : null,
            backlogAgeSeconds = e.Value.Data.TryGetValue("backlogAgeSeconds", out var age) ? age : null,
        });
        return new ObjectResult(new { status = Name(report.Status), totalMs = (long)report.TotalDuration.TotalMilliseconds, dependencies })
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
}
