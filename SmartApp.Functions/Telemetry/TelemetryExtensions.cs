using Azure.Core;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using SmartApp.Domain.Common.Telemetry;

namespace SmartApp.Functions.Telemetry;

/// <summary>Telemetry settings: section <c>Telemetry</c>.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>Also write traces, metrics and logs to the console (local diagnosis; verbose).</summary>
    public bool ConsoleExporter { get; set; }
}

internal static class TelemetryExtensions
{
    /// <summary>
    /// OpenTelemetry traces, metrics and logs from the worker (the Functions invocation, outgoing
    /// HTTP, the Azure SDKs, and SmartApp's own source and meter), exported to Application Insights
    /// when APPLICATIONINSIGHTS_CONNECTION_STRING is set (signing in with the managed identity:
    /// local auth is off there) and to the console when Telemetry:ConsoleExporter is true. With
    /// neither, nothing is registered, and start-up pays nothing for it.
    /// </summary>
    public static FunctionsApplicationBuilder AddTelemetry(this FunctionsApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        var appInsights = builder.Configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"];
        if (!string.IsNullOrWhiteSpace(appInsights) || options.ConsoleExporter)
            AddOpenTelemetry(builder, appInsights, options);
        return builder;
    }

    // Kept apart so that, with telemetry off, the OpenTelemetry assemblies are never loaded.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void AddOpenTelemetry(FunctionsApplicationBuilder builder, string? appInsights, TelemetryOptions options)
    {
        var telemetry = builder.Services.AddOpenTelemetry()
            .UseFunctionsWorkerDefaults()
            .WithTracing(tracing => tracing.AddSource(SmartAppTelemetry.Name, "Azure.*").AddHttpClientInstrumentation())
            .WithMetrics(metrics => metrics.AddMeter(SmartAppTelemetry.Name).AddHttpClientInstrumentation());
        if (!string.IsNullOrWhiteSpace(appInsights))
            telemetry.UseAzureMonitorExporter(o => o.ConnectionString = appInsights);
        if (options.ConsoleExporter)
            telemetry.WithTracing(t => t.AddConsoleExporter()).WithMetrics(m => m.AddConsoleExporter()).WithLogging(l => l.AddConsoleExporter());
        if (!string.IsNullOrWhiteSpace(appInsights))
            builder.Services.AddOptions<AzureMonitorExporterOptions>().Configure<TokenCredential>((o, credential) => o.Credential = credential);
    }
}
