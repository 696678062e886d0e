using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Common.Health;

/// <summary>Cosmos DB answers a read of the app's database (created first if missing).</summary>
public sealed class CosmosHealthCheck(CosmosStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await store.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
            await store.Database.ReadAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy("Azure Cosmos DB answers.", Data(started));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "Azure Cosmos DB does not answer.", data: Data(started));
        }
    }

    private static Dictionary<string, object> Data(long started) =>
        new() { ["provider"] = "Azure Cosmos DB", ["latencyMs"] = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds };
}

/// <summary>Blob Storage answers for the files container (created first if missing).</summary>
public sealed class BlobHealthCheck(BlobStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await store.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
            await store.Files.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy("Azure Blob Storage answers.", Data(started));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "Azure Blob Storage does not answer.", data: Data(started));
        }
    }

    private static Dictionary<string, object> Data(long started) =>
        new() { ["provider"] = "Azure Blob Storage", ["latencyMs"] = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds };
}
