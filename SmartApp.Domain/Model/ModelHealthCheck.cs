using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SmartApp.Domain.Model;

/// <summary>
/// The language model in /api/health/details: which model is in use and why. A fallback or an unknown list is
/// degraded (chat still answers, from the model or from retrieval), never unhealthy: storage decides that.
/// </summary>
public sealed class ModelHealthCheck(IModelCatalog catalog) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        await catalog.DefaultModelAsync(cancellationToken).ConfigureAwait(false); // reads the list when it is due
        var state = catalog.State;
        var data = new Dictionary<string, object> { ["provider"] = "Vultr Serverless Inference", ["model"] = state.Model };
        return state.Status == ModelCatalogStatus.Preferred
            ? HealthCheckResult.Healthy(state.Message, data)
            : HealthCheckResult.Degraded(state.Message, data: data);
    }
}
