using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;

namespace SmartApp.Domain.Common.Raindrop;

/// <summary>
/// The Raindrop mirror's backlog and circuits. Degraded (never unhealthy) while changes wait or a
/// circuit is open: the app serves from Azure meanwhile and nothing is lost.
/// </summary>
public sealed class RaindropMirrorHealthCheck(MirrorStatus status, RaindropCircuits circuits, IEnumerable<IMirrorHandler> handlers, IOptions<RaindropOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var areas = handlers.Where(h => h.Enabled).Select(h => h.Area).ToList();
        if (!options.Value.IsConfigured || areas.Count == 0)
            return Task.FromResult(HealthCheckResult.Healthy("Raindrop is not used: every capability runs on Azure.", new Dictionary<string, object> { ["provider"] = "LiquidMetal Raindrop" }));

        var backlog = 0;
        TimeSpan? oldest = null;
        var problems = new List<string>();
        foreach (var area in areas)
        {
            if (status.Areas.TryGetValue(area, out var s))
            {
                backlog += s.Backlog;
                if (status.AgeOfOldest(s) is { } age && (oldest is null || age > oldest)) oldest = age;
                if (s.LastError is not null) problems.Add($"{area}: mirror retrying");
            }
            if (circuits.StateOf(area) is CircuitState.Open or CircuitState.Isolated) problems.Add($"{area}: circuit open, serving from Azure");
        }
        var data = new Dictionary<string, object>
        {
            ["provider"] = "LiquidMetal Raindrop",
            ["backlog"] = backlog,
            ["backlogAgeSeconds"] = (long)(oldest?.TotalSeconds ?? 0),
            ["areas"] = string.Join(",", areas),
        };
        var description = backlog == 0 && problems.Count == 0
            ? $"Mirror caught up ({string.Join(", ", areas)})."
            : $"{backlog} change(s) waiting{(oldest is { } o ? $", oldest {o.TotalSeconds:F0} s" : "")}{(problems.Count > 0 ? "; " + string.Join("; ", problems) : "")}.";
        return Task.FromResult(backlog == 0 && problems.Count == 0 ? HealthCheckResult.Healthy(description, data) : HealthCheckResult.Degraded(description, data: data));
    }
}
