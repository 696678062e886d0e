using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Common.Health;

/// <summary>
/// A dependency is healthy when one cheap call to it succeeds. The result names the provider and
/// the call's latency; a failure says only that the provider does not answer (never why).
/// </summary>
public abstract class ProbeHealthCheck(string provider) : IHealthCheck
{
    protected abstract Task ProbeAsync(CancellationToken cancellationToken);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await ProbeAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"{provider} answers.", Data(started));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"{provider} does not answer.", data: Data(started));
        }
    }

    private Dictionary<string, object> Data(long started) =>
        new() { ["provider"] = provider, ["latencyMs"] = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds };
}

/// <summary>Cosmos DB answers a read of the app's database (created first if missing).</summary>
public sealed class CosmosHealthCheck(CosmosStore store) : ProbeHealthCheck("Azure Cosmos DB")
{
    protected override async Task ProbeAsync(CancellationToken cancellationToken)
    {
        await store.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        await store.Database.ReadAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Blob Storage answers for the files container (created first if missing).</summary>
public sealed class BlobHealthCheck(BlobStore store) : ProbeHealthCheck("Azure Blob Storage")
{
    protected override async Task ProbeAsync(CancellationToken cancellationToken)
    {
        await store.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        await store.Files.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
