using System.Diagnostics;
using System.Text.Json;
using SmartApp.DevHost.Emulators;
using SmartApp.DevHost.Routing;

namespace SmartApp.DevHost.Worker;

/// <summary>Where the dev host listens: HTTP for clients, gRPC (h2c) for the worker.</summary>
public sealed record DevHostEndpoints(int HttpPort, int GrpcPort)
{
    public string BaseUrl => $"http://127.0.0.1:{HttpPort}";
}

/// <summary>
/// Runs the worker process by the Functions host's rules (<see cref="HostTimings"/> gives the clocks):
/// a worker that exits with an error is restarted, starts at least <c>restartInterval</c> apart; the
/// third error within <c>errorWindow</c> recycles the host (here: a fresh start with the count cleared);
/// exit code 0 is not restarted and 200 is an intended restart. A worker whose invocation passes
/// <c>functionTimeout</c> is restarted. On shutdown, invocations get <c>drain</c> to finish, then the
/// worker gets <c>WorkerTerminate</c> and <c>terminateGrace</c>, then a kill. With <c>idleWorker</c>
/// set, a worker with no request for that long is taken away, as Flex Consumption deallocates an
/// idle instance; the next request starts another.
/// </summary>
public sealed partial class WorkerSupervisor(
    DevHostOptions options,
    DevHostEndpoints endpoints,
    HostSettings host,
    IHostApplicationLifetime lifetime,
    ILogger<WorkerSupervisor> logger,
    Triggers.TriggerHost triggers,
    EmulatorProcesses? emulators = null) : IHostedLifecycleService
{
    /// <summary>Errors within the window that recycle the host (<c>ErrorEventsThreshold</c>: 3 × one worker process).</summary>
    public const int ErrorEventsThreshold = 3;

    /// <summary>The host's exit codes for a worker: 0 ends it for good, 200 asks for a restart (<c>WorkerConstants</c>).</summary>
    public const int SuccessExitCode = 0, IntentionalRestartExitCode = 200;

    private static readonly TimeSpan ReadyPolling = TimeSpan.FromMilliseconds(25); // WorkerConstants.WorkerReadyCheckPollingIntervalMilliseconds

    private readonly HostTimings _timings = options.Timings;
    private readonly Lock _gate = new();
    private readonly List<DateTimeOffset> _errors = [];
    private WorkerConnection? _current;
    private Process? _process;
    private DateTimeOffset _lastStart = DateTimeOffset.MinValue;
    private bool _startScheduled;
    private volatile bool _stopping;
    private volatile bool _hostStarting = true; // first start, or a recycle: requests wait as for a starting host
    private volatile bool _ended;               // exit code 0: the host does not bring it back
    private volatile bool _idle;                // taken away for idleness; the next request starts another
    private bool _readyFileWritten;
    private int _inFlight;
    private long _lastActivity = Stopwatch.GetTimestamp();

    /// <summary>The host is stopping: new requests are refused while the ones in flight finish.</summary>
    public bool IsStopping => _stopping;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => StartWorker("start"));
        lifetime.ApplicationStopping.Register(() => _stopping = true);
        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Before the server stops (it would otherwise wait on the worker's open event stream): drains, then ends
    /// the worker with <c>WorkerTerminate</c> and its grace period, then a kill.
    /// </summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        var draining = Stopwatch.StartNew();
        while (Volatile.Read(ref _inFlight) > 0 && draining.Elapsed < _timings.Drain)
            await Task.Delay(ReadyPolling, CancellationToken.None);
        if (Volatile.Read(ref _inFlight) > 0) LogDrainTimedOut(logger, Volatile.Read(ref _inFlight), _timings.Drain.TotalSeconds);
        Process? process;
        WorkerConnection? connection;
        lock (_gate)
        {
            process = _process;
            connection = _current;
        }
        if (process is not null && connection is not null) await EndAsync(process, connection, "the host is stopping");
    }

    /// <summary>A request arrived: counted for the drain on shutdown and the idle-worker clock.</summary>
    public void BeginRequest()
    {
        Interlocked.Increment(ref _inFlight);
        Volatile.Write(ref _lastActivity, Stopwatch.GetTimestamp());
    }

    public void EndRequest()
    {
        Volatile.Write(ref _lastActivity, Stopwatch.GetTimestamp());
        if (Interlocked.Decrement(ref _inFlight) == 0 && _timings.IdleWorker is { } idle)
            _ = TakeAwayWhenIdleAsync(idle);
    }

    /// <summary>
    /// The connection whose functions are loaded. A request waits for a worker that is starting or
    /// restarting, as the host holds it (<c>hostStartHold</c> for a starting host, <c>restartHold</c> for a
    /// restarting worker); fails when the worker is down for good, its app is broken, or the wait runs out.
    /// </summary>
    public async Task<(WorkerConnection Worker, HttpRouteTable Routes)> GetReadyAsync(CancellationToken cancellationToken)
    {
        if (_idle) StartWorker("a request for an idle app");
        var hold = _hostStarting ? _timings.HostStartHold : _timings.RestartHold;
        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (_stopping) throw new WorkerUnavailableException("The host is stopping.");
            if (_ended) throw new WorkerUnavailableException("The worker exited with code 0; the host does not restart it.");
            var current = Volatile.Read(ref _current);
            if (current is not null && !current.IsClosed)
            {
                if (current.Ready.IsCompletedSuccessfully) return (current, current.Ready.Result);
                if (current.Ready.IsFaulted) throw current.Ready.Exception!.InnerException!; // a running worker whose app cannot be served
            }
            if (waited.Elapsed >= hold) throw new TimeoutException($"The function app was not ready within {hold.TotalSeconds:0} s.");
            await Task.Delay(ReadyPolling, cancellationToken);
        }
    }

    /// <summary>The connection a worker announces on its event stream (by the worker id we gave it).</summary>
    public WorkerConnection? Attach(string workerId)
    {
        var current = Volatile.Read(ref _current);
        return current?.WorkerId == workerId ? current : null;
    }

    /// <summary>
    /// An invocation ran past <c>functionTimeout</c>: as the host's <c>WebScriptHostExceptionHandler</c> does,
    /// the worker running it is restarted, and every invocation on it ends with it.
    /// </summary>
    public void RestartAfterTimeout(WorkerConnection connection, string function, string invocationId)
    {
        Process? process;
        lock (_gate)
        {
            if (!ReferenceEquals(_current, connection) || connection.EndedByHost) return;
            connection.EndedByHost = true;
            process = _process;
        }
        LogFunctionTimeout(logger, host.FunctionTimeout, function, invocationId);
        Kill(process);
        connection.Close("the worker was restarted after a function timeout");
        ScheduleStart("a function timeout");
    }

    private void StartWorker(string reason)
    {
        lock (_gate)
        {
            _startScheduled = false;
            if (_stopping) return;
            if (_current is { IsClosed: false } && !_idle) return; // one is running already
            _idle = false;
            var config = ReadWorkerConfig(options.AppDirectory);
            var workerId = Guid.NewGuid().ToString();
            var requestId = Guid.NewGuid().ToString();
            var grpcUri = $"http://127.0.0.1:{endpoints.GrpcPort}/";
            var start = new ProcessStartInfo(config.Executable)
            {
                WorkingDirectory = options.AppDirectory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
            };
            foreach (var argument in new[]
            {
                config.WorkerPath,
                "--host", "127.0.0.1", "--port", $"{endpoints.GrpcPort}", "--workerId", workerId, "--requestId", requestId,
                "--grpcMaxMessageLength", $"{int.MaxValue}",
                "--functions-uri", grpcUri, "--functions-worker-id", workerId, "--functions-request-id", requestId,
                "--functions-grpc-max-message-length", $"{int.MaxValue}",
            })
                start.ArgumentList.Add(argument);
            foreach (var (key, value) in WorkerEnvironment())
                start.Environment[key] = value;

            var connection = new WorkerConnection(workerId, options.AppDirectory, host, logger);
            _current = connection;
            var process = new Process { StartInfo = start, EnableRaisingEvents = true };
            process.OutputDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) LogWorkerOutput(logger, line); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) LogWorkerOutput(logger, line); };
            process.Exited += (_, _) => OnExited(process, connection);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            _process = process;
            _lastStart = DateTimeOffset.UtcNow;
            LogStarted(logger, process.Id, options.AppDirectory, reason);
            _ = AnnounceWhenReadyAsync(connection);
        }
    }

    private void OnExited(Process process, WorkerConnection connection)
    {
        var code = process.ExitCode;
        connection.Close($"the worker exited with code {code}");
        if (_stopping || connection.EndedByHost) return;
        lock (_gate)
        {
            if (!ReferenceEquals(_current, connection)) return;
        }
        switch (code)
        {
            case SuccessExitCode:
                _ended = true;
                LogEnded(logger);
                return;
            case IntentionalRestartExitCode:
                LogIntentionalRestart(logger);
                ScheduleStart("an intended restart (exit code 200)");
                return;
        }
        bool recycle;
        lock (_gate)
        {
            // RpcFunctionInvocationDispatcher.AddOrUpdateErrorBucket: an error long after the last starts a new count.
            var now = DateTimeOffset.UtcNow;
            if (_errors.Count > 0 && now - _errors[^1] > _timings.ErrorWindow) _errors.Clear();
            _errors.Add(now);
            recycle = _errors.Count >= ErrorEventsThreshold;
            if (recycle)
            {
                _errors.Clear();
                _hostStarting = true;
            }
        }
        if (recycle)
        {
            LogRecycling(logger, code, ErrorEventsThreshold, _timings.ErrorWindow.TotalMinutes);
            ScheduleStart("the host recycled");
        }
        else
        {
            LogRestarting(logger, code);
            ScheduleStart($"the worker exited with code {code}");
        }
    }

    /// <summary>Starts a worker no sooner than <c>restartInterval</c> after the last start (the host's restart lock).</summary>
    private void ScheduleStart(string reason)
    {
        TimeSpan wait;
        lock (_gate)
        {
            if (_startScheduled) return;
            _startScheduled = true;
            wait = _lastStart + _timings.RestartInterval - DateTimeOffset.UtcNow;
        }
        _ = Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero).ContinueWith(_ => StartWorker(reason), TaskScheduler.Default);
    }

    /// <summary>With <c>idleWorker</c> set: once no request has come for that long, the worker is taken away.</summary>
    private async Task TakeAwayWhenIdleAsync(TimeSpan idle)
    {
        var wait = idle;
        while (true)
        {
            await Task.Delay(wait);
            var quiet = Stopwatch.GetElapsedTime(Volatile.Read(ref _lastActivity));
            if (quiet >= idle) break;
            wait = idle - quiet + TimeSpan.FromMilliseconds(10); // a request came and went meanwhile, or the timer ran early
        }
        Process? process;
        WorkerConnection? connection;
        lock (_gate)
        {
            if (_stopping || _idle || Volatile.Read(ref _inFlight) > 0 || _current is not { IsClosed: false } current) return;
            _idle = true;
            current.EndedByHost = true;
            process = _process;
            connection = current;
        }
        if (process is null) return;
        LogTakenAway(logger, process.Id, idle.TotalSeconds);
        await EndAsync(process, connection, "the instance was idle");
    }

    /// <summary>WorkerTerminate with the host's grace period, then a kill if the worker is still there.</summary>
    private async Task EndAsync(Process process, WorkerConnection connection, string reason)
    {
        connection.EndedByHost = true;
        try
        {
            if (process.HasExited) return;
            connection.Terminate(_timings.TerminateGrace);
            using var grace = new CancellationTokenSource(_timings.TerminateGrace + TimeSpan.FromSeconds(1));
            try { await process.WaitForExitAsync(grace.Token); }
            catch (OperationCanceledException) { Kill(process); }
            LogStopped(logger, process.Id, reason);
        }
        catch (InvalidOperationException)
        {
            // It had already gone.
        }
    }

    private static void Kill(Process? process)
    {
        try
        {
            process?.Kill(entireProcessTree: true);
            process?.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
            // It had already gone.
        }
    }

    /// <summary>
    /// The worker's environment, as the Functions host builds it: this process's environment,
    /// then local.settings.json "Values" for names not already set, then the emulators' endpoints.
    /// With <c>--azure</c>, the platform's variables and Production, where the settings do not say otherwise.
    /// </summary>
    private Dictionary<string, string> WorkerEnvironment()
    {
        var environment = AppSettings.FromFile(options.SettingsFile);
        if (emulators is not null)
            foreach (var (key, value) in emulators.WorkerSettings)
                environment[key] = value;
        environment["FUNCTIONS_WORKER_RUNTIME"] = "dotnet-isolated";
        environment["FUNCTIONS_APPLICATION_DIRECTORY"] = options.AppDirectory;
        environment["FUNCTIONS_WORKER_DIRECTORY"] = options.AppDirectory;
        if (options.Azure)
        {
            // The platform's values over the local settings' (which say Development); this process's environment still wins.
            foreach (var (key, value) in AzurePlatform.Environment(options.AppDirectory, options.SettingsFile))
                if (Environment.GetEnvironmentVariable(key) is null)
                    environment[key] = value;
        }
        else if (Environment.GetEnvironmentVariable("AZURE_FUNCTIONS_ENVIRONMENT") is null)
        {
            environment.TryAdd("AZURE_FUNCTIONS_ENVIRONMENT", "Development");
        }
        return environment;
    }

    private async Task AnnounceWhenReadyAsync(WorkerConnection connection)
    {
        try
        {
            var routes = await connection.Ready.WaitAsync(_timings.HostStartHold + TimeSpan.FromSeconds(30));
            _hostStarting = false;
            foreach (var route in routes.Routes)
                LogRoute(logger, route.FunctionName, route.Methods.Count == 0 ? "ANY" : string.Join(",", route.Methods.Order()), $"{endpoints.BaseUrl}/{route.Template}");
            LogReady(logger, endpoints.BaseUrl + "/" + host.RoutePrefix, routes.Routes.Count);
            triggers.Start(connection.Triggers, this);
            if (options.ReadyFile is { } readyFile && !_readyFileWritten)
            {
                _readyFileWritten = true;
                var state = new Dictionary<string, string> { ["baseUrl"] = endpoints.BaseUrl, ["apiUrl"] = endpoints.BaseUrl + "/" + host.RoutePrefix };
                if (emulators is not null)
                    foreach (var (key, value) in emulators.WorkerSettings) state[key] = value;
                await ReadyFile.WriteAsync(readyFile, state);
            }
            if (_timings.IdleWorker is { } idle && Volatile.Read(ref _inFlight) == 0) _ = TakeAwayWhenIdleAsync(idle);
        }
        catch (Exception ex) when (ex is WorkerUnavailableException or TimeoutException)
        {
            LogNeverReady(logger, ex.Message);
        }
    }

    private sealed record WorkerConfig(string Executable, string WorkerPath);

    private static WorkerConfig ReadWorkerConfig(string appDirectory)
    {
        var path = Path.Combine(appDirectory, "worker.config.json");
        if (!File.Exists(path))
            throw new InvalidOperationException($"No worker.config.json in {appDirectory}: build the function app first (dotnet build).");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var description = document.RootElement.GetProperty("description");
        return new WorkerConfig(
            description.GetProperty("defaultExecutablePath").GetString()!,
            Path.Combine(appDirectory, description.GetProperty("defaultWorkerPath").GetString()!));
    }

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Started the worker (pid {Pid}) for {AppDirectory}: {Reason}")]
    private static partial void LogStarted(ILogger logger, int pid, string appDirectory, string reason);

    [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "    {Function}: [{Methods}] {Url}")]
    private static partial void LogRoute(ILogger logger, string function, string methods, string url);

    [LoggerMessage(EventId = 303, Level = LogLevel.Information, Message = "SmartApp is serving {ApiUrl} ({Count} HTTP functions). Press Ctrl+C to stop.")]
    private static partial void LogReady(ILogger logger, string apiUrl, int count);

    [LoggerMessage(EventId = 304, Level = LogLevel.Warning, Message = "The worker exited unexpectedly (code {Code}); restarting it")]
    private static partial void LogRestarting(ILogger logger, int code);

    [LoggerMessage(EventId = 305, Level = LogLevel.Error, Message = "The worker exited (code {Code}): {Threshold} worker errors within {Minutes} minutes. Recycling the host")]
    private static partial void LogRecycling(ILogger logger, int code, int threshold, double minutes);

    [LoggerMessage(EventId = 306, Level = LogLevel.Information, Message = "Stopped the worker (pid {Pid}): {Reason}")]
    private static partial void LogStopped(ILogger logger, int pid, string reason);

    [LoggerMessage(EventId = 307, Level = LogLevel.Error, Message = "The function app did not become ready: {Reason}")]
    private static partial void LogNeverReady(ILogger logger, string reason);

    [LoggerMessage(EventId = 308, Level = LogLevel.Information, Message = "[worker] {Line}")]
    private static partial void LogWorkerOutput(ILogger logger, string line);

    [LoggerMessage(EventId = 309, Level = LogLevel.Warning, Message = "The worker exited with code 0; the host does not restart it. Requests get 503 until the dev host is restarted.")]
    private static partial void LogEnded(ILogger logger);

    [LoggerMessage(EventId = 310, Level = LogLevel.Information, Message = "The worker asked for a restart (exit code 200); restarting it")]
    private static partial void LogIntentionalRestart(ILogger logger);

    [LoggerMessage(EventId = 311, Level = LogLevel.Error, Message = "Timeout value of {Timeout} exceeded by function '{Function}' (Id: '{InvocationId}'). Restarting the worker process")]
    private static partial void LogFunctionTimeout(ILogger logger, TimeSpan timeout, string function, string invocationId);

    [LoggerMessage(EventId = 312, Level = LogLevel.Warning, Message = "Took the idle worker away (pid {Pid}) after {Seconds} s without a request, as Flex Consumption deallocates an idle instance")]
    private static partial void LogTakenAway(ILogger logger, int pid, double seconds);

    [LoggerMessage(EventId = 313, Level = LogLevel.Warning, Message = "{Count} request(s) still in flight after the {Seconds} s drain; ending the worker")]
    private static partial void LogDrainTimedOut(ILogger logger, int count, double seconds);
}
