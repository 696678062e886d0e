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
/// Starts the worker process once the host is listening, restarts it if it dies (a few times a
/// minute at most), and ends it on shutdown: WorkerTerminate first, then a kill after a grace period.
/// </summary>
public sealed partial class WorkerSupervisor(
    DevHostOptions options,
    DevHostEndpoints endpoints,
    HostSettings host,
    IHostApplicationLifetime lifetime,
    ILogger<WorkerSupervisor> logger,
    EmulatorProcesses? emulators = null) : IHostedService
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan TerminateGrace = TimeSpan.FromSeconds(3);
    private const int MaxRestartsPerMinute = 3;

    private readonly Lock _gate = new();
    private readonly Queue<DateTimeOffset> _restarts = new();
    private readonly TaskCompletionSource<WorkerConnection> _firstStart = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WorkerConnection? _current;
    private Process? _process;
    private bool _stopping;
    private volatile bool _gaveUp;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(StartWorker);
        lifetime.ApplicationStopping.Register(StopWorker);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        StopWorker();
        return Task.CompletedTask;
    }

    /// <summary>
    /// The connection whose functions are loaded, waiting for start-up or for a restart in progress;
    /// fails at once when the worker is down for good.
    /// </summary>
    public async Task<(WorkerConnection Worker, HttpRouteTable Routes)> GetReadyAsync(CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        await _firstStart.Task.WaitAsync(ReadyTimeout, cancellationToken);
        while (true)
        {
            var current = Volatile.Read(ref _current)!;
            try
            {
                var routes = await current.Ready.WaitAsync(ReadyTimeout - deadline.Elapsed, cancellationToken);
                if (!current.IsClosed) return (current, routes);
            }
            catch (WorkerUnavailableException) when (!_gaveUp && deadline.Elapsed < ReadyTimeout)
            {
                // This worker failed; a restart may be on its way.
            }
            if (_gaveUp) throw new WorkerUnavailableException("The function app has stopped and is not being restarted.");
            if (deadline.Elapsed >= ReadyTimeout) throw new TimeoutException("The function app did not become ready in time.");
            await Task.Delay(50, cancellationToken); // the replacement is starting
        }
    }

    /// <summary>The connection a worker announces on its event stream (by the worker id we gave it).</summary>
    public WorkerConnection? Attach(string workerId)
    {
        var current = Volatile.Read(ref _current);
        return current?.WorkerId == workerId ? current : null;
    }

    private void StartWorker()
    {
        lock (_gate)
        {
            if (_stopping) return;
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
            _firstStart.TrySetResult(connection);
            LogStarted(logger, process.Id, options.AppDirectory);
            _ = AnnounceWhenReadyAsync(connection);
        }
    }

    private void OnExited(Process process, WorkerConnection connection)
    {
        var code = process.ExitCode;
        connection.Close($"the worker exited with code {code}");
        bool restart;
        lock (_gate)
        {
            if (_stopping || !ReferenceEquals(_current, connection)) return;
            var now = DateTimeOffset.UtcNow;
            while (_restarts.Count > 0 && now - _restarts.Peek() > TimeSpan.FromMinutes(1)) _restarts.Dequeue();
            restart = _restarts.Count < MaxRestartsPerMinute;
            if (restart) _restarts.Enqueue(now);
        }
        if (restart)
        {
            LogRestarting(logger, code);
            Task.Delay(TimeSpan.FromSeconds(1)).ContinueWith(_ => StartWorker(), TaskScheduler.Default);
        }
        else
        {
            _gaveUp = true;
            LogGaveUp(logger, code, MaxRestartsPerMinute);
        }
    }

    private void StopWorker()
    {
        Process? process;
        WorkerConnection? connection;
        lock (_gate)
        {
            if (_stopping) return;
            _stopping = true;
            process = _process;
            connection = _current;
        }
        if (process is null) return;
        try
        {
            if (process.HasExited) return;
            connection?.Terminate(TerminateGrace);
            if (!process.WaitForExit(TerminateGrace + TimeSpan.FromSeconds(2)))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
            LogStopped(logger, process.Id);
        }
        catch (InvalidOperationException)
        {
            // It had already gone.
        }
    }

    /// <summary>
    /// The worker's environment, as the Functions host builds it: this process's environment,
    /// then local.settings.json "Values" for names not already set, then the emulators' endpoints.
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
        if (Environment.GetEnvironmentVariable("AZURE_FUNCTIONS_ENVIRONMENT") is null)
            environment["AZURE_FUNCTIONS_ENVIRONMENT"] = "Development";
        return environment;
    }

    private async Task AnnounceWhenReadyAsync(WorkerConnection connection)
    {
        try
        {
            var routes = await connection.Ready.WaitAsync(ReadyTimeout);
            foreach (var route in routes.Routes)
                LogRoute(logger, route.FunctionName, route.Methods.Count == 0 ? "ANY" : string.Join(",", route.Methods.Order()), $"{endpoints.BaseUrl}/{route.Template}");
            LogReady(logger, endpoints.BaseUrl + "/" + host.RoutePrefix, routes.Routes.Count);
            if (options.ReadyFile is { } readyFile)
            {
                var state = new Dictionary<string, string> { ["baseUrl"] = endpoints.BaseUrl, ["apiUrl"] = endpoints.BaseUrl + "/" + host.RoutePrefix };
                if (emulators is not null)
                    foreach (var (key, value) in emulators.WorkerSettings) state[key] = value;
                await ReadyFile.WriteAsync(readyFile, state);
            }
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

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Started the worker (pid {Pid}) for {AppDirectory}")]
    private static partial void LogStarted(ILogger logger, int pid, string appDirectory);

    [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "    {Function}: [{Methods}] {Url}")]
    private static partial void LogRoute(ILogger logger, string function, string methods, string url);

    [LoggerMessage(EventId = 303, Level = LogLevel.Information, Message = "SmartApp is serving {ApiUrl} ({Count} HTTP functions). Press Ctrl+C to stop.")]
    private static partial void LogReady(ILogger logger, string apiUrl, int count);

    [LoggerMessage(EventId = 304, Level = LogLevel.Warning, Message = "The worker exited unexpectedly (code {Code}); restarting it")]
    private static partial void LogRestarting(ILogger logger, int code);

    [LoggerMessage(EventId = 305, Level = LogLevel.Error, Message = "The worker exited (code {Code}) and was restarted {Max} times in the last minute; not restarting it again. Requests get 503 until the dev host is restarted.")]
    private static partial void LogGaveUp(ILogger logger, int code, int max);

    [LoggerMessage(EventId = 306, Level = LogLevel.Information, Message = "Stopped the worker (pid {Pid})")]
    private static partial void LogStopped(ILogger logger, int pid);

    [LoggerMessage(EventId = 307, Level = LogLevel.Error, Message = "The function app did not become ready: {Reason}")]
    private static partial void LogNeverReady(ILogger logger, string reason);

    [LoggerMessage(EventId = 308, Level = LogLevel.Information, Message = "[worker] {Line}")]
    private static partial void LogWorkerOutput(ILogger logger, string line);
}
