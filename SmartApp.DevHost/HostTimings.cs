using System.Globalization;

namespace SmartApp.DevHost;

/// <summary>
/// The clocks by which the Functions host and Azure's front end cut, hold, restart and stop things.
/// <see cref="Azure"/> is what they are in Azure (each from the real host's source or the platform's
/// documentation, named below); a test may shorten one with <c>--timing name=seconds</c> to see it act.
/// </summary>
public sealed record HostTimings
{
    /// <summary>Azure's front end gives an HTTP response this long to start (Functions documentation: "230 seconds is the maximum amount of time that an HTTP triggered function can take to respond").</summary>
    public TimeSpan ResponseStart { get; init; } = TimeSpan.FromSeconds(230);

    /// <summary>The host's proxy to the worker gives up after this long without activity (<c>DefaultHttpProxyService</c>: <c>ActivityTimeout = 240 s</c>).</summary>
    public TimeSpan ProxyIdle { get; init; } = TimeSpan.FromSeconds(240);

    /// <summary>At least this long between worker starts (<c>WorkerProcessCountOptions.ProcessRestartInterval</c>).</summary>
    public TimeSpan RestartInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Between the starts of the workers when there are several (<c>WorkerProcessCountOptions.ProcessStartupInterval</c>).</summary>
    public TimeSpan ProcessStartupInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Errors this far apart start a new count (<c>WorkerConstants.WorkerRestartErrorIntervalThresholdInMinutes</c>).</summary>
    public TimeSpan ErrorWindow { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// How long an invocation waits for a restarting worker: (<c>ErrorEventsThreshold</c> + 1) ×
    /// the worker initialisation timeout (<c>WorkerFunctionInvoker.DelayUntilFunctionDispatcherInitializedOrShutdown</c>: (3 + 1) × 10 s).
    /// </summary>
    public TimeSpan RestartHold { get; init; } = TimeSpan.FromSeconds(40);

    /// <summary>How long a request waits for a host that is starting or recycling (<c>ScriptConstants.HostTimeoutSeconds</c>), then 503.</summary>
    public TimeSpan HostStartHold { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a stopping host lets invocations finish (<c>WebJobsScriptHostService.StopAsync</c>: 10 s).</summary>
    public TimeSpan Drain { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The grace period sent in <c>WorkerTerminate</c> (<c>WorkerConstants.WorkerTerminateGracePeriodInSeconds</c>).</summary>
    public TimeSpan TerminateGrace { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Off by default. When set, the worker is taken away this long after its last request ends, as the
    /// Flex Consumption plan deallocates an idle instance, so background work that Azure would stop shows up.
    /// </summary>
    public TimeSpan? IdleWorker { get; init; }

    /// <summary>The real host's and platform's clocks.</summary>
    public static HostTimings Azure { get; } = new();

    public static readonly IReadOnlyList<string> Names =
        ["responseStart", "proxyIdle", "restartInterval", "processStartupInterval", "errorWindow", "restartHold", "hostStartHold", "drain", "terminateGrace", "idleWorker"];

    /// <summary>These timings with one changed: <paramref name="assignment"/> is <c>name=seconds</c>.</summary>
    public HostTimings With(string assignment)
    {
        var parts = assignment.Split('=', 2);
        if (parts.Length != 2 || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds <= 0 || seconds > 86_400)
            throw new ArgumentException($"--timing takes name=seconds (0 < seconds <= 86400), not '{assignment}'.");
        var value = TimeSpan.FromSeconds(seconds);
        return parts[0] switch
        {
            "responseStart" => this with { ResponseStart = value },
            "proxyIdle" => this with { ProxyIdle = value },
            "restartInterval" => this with { RestartInterval = value },
            "processStartupInterval" => this with { ProcessStartupInterval = value },
            "errorWindow" => this with { ErrorWindow = value },
            "restartHold" => this with { RestartHold = value },
            "hostStartHold" => this with { HostStartHold = value },
            "drain" => this with { Drain = value },
            "terminateGrace" => this with { TerminateGrace = value },
            "idleWorker" => this with { IdleWorker = value },
            _ => throw new ArgumentException($"--timing knows {string.Join(", ", Names)}; not '{parts[0]}'."),
        };
    }
}
