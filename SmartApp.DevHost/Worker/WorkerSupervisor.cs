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
    /// <summary>Errors per worker process within the window that recycle the host (<c>ErrorEventsThreshold</c>: 3 × the process count).</summary>
    public const int ErrorEventsThreshold = 3;

    /// <summary>The host's exit codes for a worker: 0 ends it for good, 200 asks for a restart (<c>WorkerConstants</c>).</summary>
    public const int SuccessExitCode = 0, IntentionalRestartExitCode = 200;

    /// <summary>The most worker processes the host runs (<c>WorkerProcessCountOptions.MaxProcessCount</c>).</summary>
    public const int MaxProcessCount = 10;

    private static readonly TimeSpan ReadyPolling = TimeSpan.FromMilliseconds(25); // WorkerConstants.WorkerReadyCheckPollingIntervalMilliseconds

    /// <summary>One worker process the host runs (with <c>FUNCTIONS_WORKER_PROCESS_COUNT</c> above 1, several).</summary>
    private sealed class WorkerSlot(int index)
    {
        public int Index => index;
        public WorkerConnection? Connection;
        public Process? Process;
        public bool StartScheduled;
        public bool Ended; // exit code 0: the host does not bring it back
        public bool Ready => Connection is { IsClosed: false, Ready.IsCompletedSuccessfully: true };
    }

    private readonly HostTimings _timings = options.Timings;
    private readonly Lock _gate = new();
    private readonly List<DateTimeOffset> _errors = [];
    private readonly WorkerSlot[] _slots = Enumerable.Range(0, Math.Clamp(options.Workers, 1, MaxProcessCount)).Select(i => new WorkerSlot(i)).ToArray();
    private DateTimeOffset _lastStart = DateTimeOffset.MinValue;
    private volatile bool _stopping;
    private volatile bool _hostStarting = true; // first start, or a recycle: requests wait as for a starting host
    private volatile bool _idle;                // taken away for idleness; the next request starts the workers again
    private bool _readyFileWritten;
    private int _announced;
    private int _inFlight;
    private int _nextWorker;
    private long _lastActivity = Stopwatch.GetTimestamp();

    /// <summary>The host is stopping: new requests are refused while the ones in flight finish.</summary>
    public bool IsStopping => _stopping;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => StartAll("start"));
        lifetime.ApplicationStopping.Register(() => _stopping = true);
        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Before the server stops (it would otherwise wait on the workers' open event streams): drains, then ends
    /// each worker with <c>WorkerTerminate</c> and its grace period, then a kill.
    /// </summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        var draining = Stopwatch.StartNew();
        while (Volatile.Read(ref _inFlight) > 0 && draining.Elapsed < _timings.Drain)
            await Task.Delay(ReadyPolling, CancellationToken.None);
        if (Volatile.Read(ref _inFlight) > 0) LogDrainTimedOut(logger, Volatile.Read(ref _inFlight), _timings.Drain.TotalSeconds);
        List<(Process, WorkerConnection)> running;
        lock (_gate) running = _slots.Where(s => s is { Process: not null, Connection: not null }).Select(s => (s.Process!, s.Connection!)).ToList();
        await Task.WhenAll(running.Select(r => EndAsync(r.Item1, r.Item2, "the host is stopping")));
    }

    /// <summary>A request or trigger invocation began: counted for the drain on shutdown and the idle-worker clock.</summary>
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
    /// A worker whose functions are loaded, taken in turn when there are several (as the host's dispatcher
    /// spreads invocations). A request waits for workers that are starting or restarting, as the host holds
    /// it (<c>hostStartHold</c> for a starting host, <c>restartHold</c> for a restarting worker); fails when
    /// every worker is down for good, the app is broken, or the wait runs out.
    /// </summary>
    public async Task<(WorkerConnection Worker, HttpRouteTable Routes)> GetReadyAsync(CancellationToken cancellationToken)
    {
        if (_idle) StartAll("work for an idle app");
        var hold = _hostStarting ? _timings.HostStartHold : _timings.RestartHold;
        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (_stopping) throw new WorkerUnavailableException("The host is stopping.");
            var ready = _slots.Where(s => s.Ready).Select(s => s.Connection!).ToList();
            if (ready.Count > 0)
            {
                var worker = ready[(int)((uint)Interlocked.Increment(ref _nextWorker) % (uint)ready.Count)];
                return (worker, worker.Ready.Result);
            }
            if (_slots.All(s => s.Ended)) throw new WorkerUnavailableException("The worker exited with code 0; the host does not restart it.");
            if (_slots.Select(s => s.Connection).FirstOrDefault(c => c is { IsClosed: false, Ready.IsFaulted: true }) is { } broken)
                throw broken.Ready.Exception!.InnerException!; // a running worker whose app cannot be served
            if (waited.Elapsed >= hold) throw new TimeoutException($"The function app was not ready within {hold.TotalSeconds:0} s.");
            await Task.Delay(ReadyPolling, cancellationToken);
        }
    }

    /// <summary>The connection a worker announces on its event stream (by the worker id we gave it).</summary>
    public WorkerConnection? Attach(string workerId) =>
        _slots.Select(s => Volatile.Read(ref s.Connection)).FirstOrDefault(c => c?.WorkerId == workerId);

    /// <summary>
    /// Holds one invocation to <c>functionTimeout</c> (dispose the timer when it ends): still running then,
    /// <paramref name="timedOut"/> runs, the worker is restarted (<see cref="RestartAfterTimeout"/>, before anything
    /// else, so no new request reaches it), and then <paramref name="afterRestart"/>.
    /// </summary>
    public Timer WatchFunctionTimeout(WorkerConnection worker, Task invocation, string function, string invocationId, Action? timedOut = null, Action? afterRestart = null) =>
        new(_ =>
        {
            if (invocation.IsCompleted) return;
            timedOut?.Invoke();
            RestartAfterTimeout(worker, function, invocationId);
            afterRestart?.Invoke();
        }, null, host.FunctionTimeout, Timeout.InfiniteTimeSpan);

    /// <summary>
    /// An invocation ran past <c>functionTimeout</c>: as the host's <c>WebScriptHostExceptionHandler</c> does,
    /// the worker running it is restarted, and every invocation on it ends with it.
    /// </summary>
    private void RestartAfterTimeout(WorkerConnection connection, string function, string invocationId)
    {
        WorkerSlot? slot;
        lock (_gate)
        {
            slot = _slots.FirstOrDefault(s => ReferenceEquals(s.Connection, connection));
            if (slot is null || connection.EndedByHost) return;
            connection.EndedByHost = true;
        }
        LogFunctionTimeout(logger, host.FunctionTimeout, function, invocationId);
        Kill(slot.Process);
        connection.Close("the worker was restarted after a function timeout");
        ScheduleStart(slot, "a function timeout");
    }

    /// <summary>Starts every worker: the first at once, each further one <c>processStartupInterval</c> after the one before.</summary>
    private void StartAll(string reason)
    {
        lock (_gate)
        {
            if (_idle) _idle = false;
            else if (_slots.Any(s => s.Connection is not null)) return; // started already, by a request racing this one
        }
        for (var i = 0; i < _slots.Length; i++)
        {
            var slot = _slots[i];
            if (i == 0) StartWorker(slot, reason);
            else _ = Task.Delay(_timings.ProcessStartupInterval * i).ContinueWith(_ => StartWorker(slot, reason), TaskScheduler.Default);
        }
    }

    private void StartWorker(WorkerSlot slot, string reason)
    {
        lock (_gate)
        {
            slot.StartScheduled = false;
            if (_stopping || _idle) return;
            if (slot.Connection is { IsClosed: false, EndedByHost: false }) return; // one is running already
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

            var connection = new WorkerConnection(workerId, options.AppDirectory, host, logger) { Label = $"worker {slot.Index + 1}" };
            var process = new Process { StartInfo = start, EnableRaisingEvents = true };
            process.OutputDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) LogWorkerOutput(logger, line); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) LogWorkerOutput(logger, line); };
            process.Exited += (_, _) => OnExited(slot, process, connection);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            Volatile.Write(ref slot.Connection, connection);
            slot.Process = process;
            connection.ProcessId = process.Id;
            _lastStart = DateTimeOffset.UtcNow;
            LogStarted(logger, connection.Label, process.Id, options.AppDirectory, reason);
            _ = AnnounceWhenReadyAsync(connection);
        }
    }

    private void OnExited(WorkerSlot slot, Process process, WorkerConnection connection)
    {
        var code = process.ExitCode;
        connection.Close($"the worker exited with code {code}");
        if (_stopping || connection.EndedByHost) return;
        lock (_gate)
        {
            if (!ReferenceEquals(slot.Connection, connection)) return;
        }
        switch (code)
        {
            case SuccessExitCode:
                slot.Ended = true;
                LogEnded(logger, connection.Label);
                return;
            case IntentionalRestartExitCode:
                LogIntentionalRestart(logger, connection.Label);
                ScheduleStart(slot, "an intended restart (exit code 200)");
                return;
        }
        bool recycle;
        var threshold = ErrorEventsThreshold * _slots.Length;
        lock (_gate)
        {
            // RpcFunctionInvocationDispatcher.AddOrUpdateErrorBucket: an error long after the last starts a new count.
            var now = DateTimeOffset.UtcNow;
            if (_errors.Count > 0 && now - _errors[^1] > _timings.ErrorWindow) _errors.Clear();
            _errors.Add(now);
            recycle = _errors.Count >= threshold;
            if (recycle)
            {
                _errors.Clear();
                _hostStarting = true;
            }
        }
        if (recycle)
        {
            LogRecycling(logger, code, threshold, _timings.ErrorWindow.TotalMinutes);
            RecycleAll(slot);
        }
        else
        {
            LogRestarting(logger, connection.Label, code);
            ScheduleStart(slot, $"the worker exited with code {code}");
        }
    }

    /// <summary>The host recycles: every worker goes, and all start afresh (here within the same process; Azure starts a new host).</summary>
    private void RecycleAll(WorkerSlot failed)
    {
        foreach (var slot in _slots)
        {
            if (slot != failed && slot.Connection is { IsClosed: false } connection)
            {
                connection.EndedByHost = true;
                Kill(slot.Process);
                connection.Close("the host recycled");
            }
            ScheduleStart(slot, "the host recycled");
        }
    }

    /// <summary>Starts a worker no sooner than <c>restartInterval</c> after the last start (the host's restart lock).</summary>
    private void ScheduleStart(WorkerSlot slot, string reason)
    {
        TimeSpan wait;
        lock (_gate)
        {
            if (slot.StartScheduled) return;
            slot.StartScheduled = true;
            var earliest = _lastStart + _timings.RestartInterval;
            wait = earliest - DateTimeOffset.UtcNow;
            _lastStart = wait > TimeSpan.Zero ? earliest : DateTimeOffset.UtcNow; // the next restart queues behind this one
        }
        _ = Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero).ContinueWith(_ => StartWorker(slot, reason), TaskScheduler.Default);
    }

    /// <summary>With <c>idleWorker</c> set: once no request or trigger invocation has come for that long, the workers are taken away.</summary>
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
        List<(Process, WorkerConnection)> running;
        lock (_gate)
        {
            if (_stopping || _idle || Volatile.Read(ref _inFlight) > 0 || !_slots.Any(s => s.Connection is { IsClosed: false })) return;
            _idle = true;
            running = _slots.Where(s => s is { Process: not null, Connection.IsClosed: false }).Select(s => (s.Process!, s.Connection!)).ToList();
            foreach (var (_, connection) in running) connection.EndedByHost = true;
        }
        foreach (var (process, connection) in running) LogTakenAway(logger, connection.Label, process.Id, idle.TotalSeconds);
        await Task.WhenAll(running.Select(r => EndAsync(r.Item1, r.Item2, "the instance was idle")));
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
            LogStopped(logger, connection.Label, process.Id, reason);
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
    /// The app settings as the worker sees them: this process's environment, which it inherits, with
    /// <see cref="WorkerEnvironment"/> over it. Trigger bindings resolve their <c>%name%</c> values and connections from these.
    /// </summary>
    public Dictionary<string, string> AppSettingsSeenByWorker()
    {
        var settings = AppSettings.All(settingsFile: null);
        foreach (var (key, value) in WorkerEnvironment()) settings[key] = value;
        return settings;
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
            LogWorkerReady(logger, connection.Label, connection.ProcessId);
            if (Interlocked.Exchange(ref _announced, 1) == 1) return;
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

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Started {Worker} (pid {Pid}) for {AppDirectory}: {Reason}")]
    private static partial void LogStarted(ILogger logger, string worker, int pid, string appDirectory, string reason);

    [LoggerMessage(EventId = 314, Level = LogLevel.Information, Message = "{Worker} (pid {Pid}) is ready")]
    private static partial void LogWorkerReady(ILogger logger, string worker, int pid);

    [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "    {Function}: [{Methods}] {Url}")]
    private static partial void LogRoute(ILogger logger, string function, string methods, string url);

    [LoggerMessage(EventId = 303, Level = LogLevel.Information, Message = "SmartApp is serving {ApiUrl} ({Count} HTTP functions). Press Ctrl+C to stop.")]
    private static partial void LogReady(ILogger logger, string apiUrl, int count);

    [LoggerMessage(EventId = 304, Level = LogLevel.Warning, Message = "{Worker} exited unexpectedly (code {Code}); restarting it")]
    private static partial void LogRestarting(ILogger logger, string worker, int code);

    [LoggerMessage(EventId = 305, Level = LogLevel.Error, Message = "A worker exited (code {Code}): {Threshold} worker errors within {Minutes} minutes. Recycling the host")]
    private static partial void LogRecycling(ILogger logger, int code, int threshold, double minutes);

    [LoggerMessage(EventId = 306, Level = LogLevel.Information, Message = "Stopped {Worker} (pid {Pid}): {Reason}")]
    private static partial void LogStopped(ILogger logger, string worker, int pid, string reason);

    [LoggerMessage(EventId = 307, Level = LogLevel.Error, Message = "The function app did not become ready: {Reason}")]
    private static partial void LogNeverReady(ILogger logger, string reason);

    [LoggerMessage(EventId = 308, Level = LogLevel.Information, Message = "[worker] {Line}")]
    private static partial void LogWorkerOutput(ILogger logger, string line);

    [LoggerMessage(EventId = 309, Level = LogLevel.Warning, Message = "{Worker} exited with code 0; the host does not restart it. Once no worker is left, requests get 503 until the dev host is restarted.")]
    private static partial void LogEnded(ILogger logger, string worker);

    [LoggerMessage(EventId = 310, Level = LogLevel.Information, Message = "{Worker} asked for a restart (exit code 200); restarting it")]
    private static partial void LogIntentionalRestart(ILogger logger, string worker);

    [LoggerMessage(EventId = 311, Level = LogLevel.Error, Message = "Timeout value of {Timeout} exceeded by function '{Function}' (Id: '{InvocationId}'). Restarting the worker process")]
    private static partial void LogFunctionTimeout(ILogger logger, TimeSpan timeout, string function, string invocationId);

    [LoggerMessage(EventId = 312, Level = LogLevel.Warning, Message = "Took the idle {Worker} away (pid {Pid}) after {Seconds} s without a request, as Flex Consumption deallocates an idle instance")]
    private static partial void LogTakenAway(ILogger logger, string worker, int pid, double seconds);

    [LoggerMessage(EventId = 313, Level = LogLevel.Warning, Message = "{Count} request(s) still in flight after the {Seconds} s drain; ending the worker")]
    private static partial void LogDrainTimedOut(ILogger logger, int count, double seconds);
}
