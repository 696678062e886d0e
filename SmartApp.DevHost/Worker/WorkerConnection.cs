using System.Collections.Concurrent;
using System.Threading.Channels;
using Google.Protobuf.WellKnownTypes;
using SmartApp.DevHost.Routing;
using SmartApp.DevHost.Rpc;

namespace SmartApp.DevHost.Worker;

/// <summary>The worker is not running or not ready; requests get a 503.</summary>
public sealed class WorkerUnavailableException(string message) : Exception(message);

/// <summary>
/// The host's side of one worker process's gRPC event stream: the start-up handshake
/// (init, metadata, one load per function), then invocations and their responses, logs, cancels.
/// </summary>
public sealed partial class WorkerConnection(string workerId, string appDirectory, HostSettings host, ILogger logger)
{
    private readonly Channel<StreamingMessage> _outbound = Channel.CreateUnbounded<StreamingMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskCompletionSource<HttpRouteTable> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<InvocationResponse>> _pending = new();
    private readonly ConcurrentDictionary<string, RpcFunctionMetadata> _functions = new();
    private readonly List<HttpRoute> _routes = [];
    private readonly List<object> _triggers = [];
    private int _loadsOutstanding;

    public string WorkerId { get; } = workerId;

    /// <summary>Which of the host's workers this is, for the log ("worker 1").</summary>
    public string Label { get; init; } = "worker 1";

    /// <summary>The worker's process id, for the log.</summary>
    public int ProcessId { get; set; }

    /// <summary>The worker's own HTTP server, where requests are forwarded (its <c>HttpUri</c> capability).</summary>
    public string? HttpUri { get; private set; }

    /// <summary>Completes with the route table once every function is loaded; fails if the worker cannot start.</summary>
    public Task<HttpRouteTable> Ready => _ready.Task;

    public ChannelReader<StreamingMessage> Outbound => _outbound.Reader;

    /// <summary>The worker behind this connection has gone (exited, or its stream ended).</summary>
    public bool IsClosed { get; private set; }

    /// <summary>The host itself ended this worker (a timeout restart, an idle worker taken away): its exit is not an error.</summary>
    public bool EndedByHost { get; set; }

    /// <summary>The queue and timer triggers of the worker's functions (known once <see cref="Ready"/> completes).</summary>
    public IReadOnlyList<object> Triggers => _triggers;


    public void OnMessage(StreamingMessage message)
    {
        switch (message.ContentCase)
        {
            case StreamingMessage.ContentOneofCase.StartStream:
                var init = new WorkerInitRequest { HostVersion = "4.1040.0.0", WorkerDirectory = appDirectory, FunctionAppDirectory = appDirectory };
                init.Capabilities.Add("MultiStream", "10");
                Send(new StreamingMessage { RequestId = NewId(), WorkerInitRequest = init });
                break;

            case StreamingMessage.ContentOneofCase.WorkerInitResponse:
                var initResponse = message.WorkerInitResponse;
                if (initResponse.Result?.Status != StatusResult.Types.Status.Success)
                {
                    Fail($"the worker failed to initialise: {initResponse.Result?.Exception?.Message}");
                    break;
                }
                HttpUri = initResponse.Capabilities.TryGetValue("HttpUri", out var uri) ? uri : null;
                if (HttpUri is null)
                {
                    Fail("the worker has no HTTP server (is it built with Microsoft.Azure.Functions.Worker.Extensions.Http.AspNetCore and ConfigureFunctionsWebApplication?)");
                    break;
                }
                Send(new StreamingMessage { RequestId = NewId(), FunctionsMetadataRequest = new FunctionsMetadataRequest { FunctionAppDirectory = appDirectory } });
                break;

            case StreamingMessage.ContentOneofCase.FunctionMetadataResponse:
                OnMetadata(message.FunctionMetadataResponse);
                break;

            case StreamingMessage.ContentOneofCase.FunctionLoadResponse:
                var load = message.FunctionLoadResponse;
                if (load.Result?.Status != StatusResult.Types.Status.Success)
                {
                    Fail($"function {_functions.GetValueOrDefault(load.FunctionId)?.Name} failed to load: {load.Result?.Exception?.Message}");
                    break;
                }
                if (Interlocked.Decrement(ref _loadsOutstanding) == 0)
                    _ = BecomeReadyAsync();
                break;

            case StreamingMessage.ContentOneofCase.InvocationResponse:
                if (_pending.TryRemove(message.InvocationResponse.InvocationId, out var invocation))
                    invocation.TrySetResult(message.InvocationResponse);
                break;

            case StreamingMessage.ContentOneofCase.RpcLog:
                OnLog(message.RpcLog);
                break;
        }
    }

    /// <summary>Sends the invocation; the task completes with the worker's response.</summary>
    public Task<InvocationResponse> Invoke(InvocationRequest request)
    {
        var response = new TaskCompletionSource<InvocationResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[request.InvocationId] = response;
        Send(new StreamingMessage { InvocationRequest = request });
        return response.Task;
    }

    /// <summary>Asks the worker to cancel an invocation (the client went away).</summary>
    public void Cancel(string invocationId)
    {
        if (_pending.ContainsKey(invocationId))
            Send(new StreamingMessage { InvocationCancel = new InvocationCancel { InvocationId = invocationId, GracePeriod = Duration.FromTimeSpan(TimeSpan.Zero) } });
    }

    public void Terminate(TimeSpan gracePeriod) =>
        Send(new StreamingMessage { WorkerTerminate = new WorkerTerminate { GracePeriod = Duration.FromTimeSpan(gracePeriod) } });

    /// <summary>The worker is gone: whoever waits on it is told so.</summary>
    public void Close(string reason)
    {
        IsClosed = true;
        _outbound.Writer.TryComplete();
        Fail(reason);
        foreach (var id in _pending.Keys)
            if (_pending.TryRemove(id, out var invocation))
                invocation.TrySetException(new WorkerUnavailableException($"The worker stopped during the request: {reason}."));
    }

    /// <summary>
    /// Ready once every function is loaded and the worker's HTTP server accepts connections: the
    /// worker reports its URI and loads functions before its server is listening.
    /// </summary>
    private async Task BecomeReadyAsync()
    {
        var uri = new Uri(HttpUri!);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!await PortAllocator.IsListeningAsync(uri.Port, CancellationToken.None))
        {
            if (waited.Elapsed > TimeSpan.FromSeconds(30))
            {
                Fail($"the worker's HTTP server did not open port {uri.Port}");
                return;
            }
            await Task.Delay(10);
        }
        var table = new HttpRouteTable(_routes);
        if (table.Refused.Count > 0 || table.Shadowed.Count > 0)
        {
            // Under the Functions host these routes would be left out or never answer: refuse to serve the app as if they did.
            foreach (var refused in table.Refused) LogRefusedRoute(logger, refused);
            foreach (var shadowed in table.Shadowed) LogShadowedRoute(logger, shadowed);
            Fail($"{table.Refused.Count + table.Shadowed.Count} route(s) would not answer under the Functions host: {string.Join("; ", table.Refused.Concat(table.Shadowed))}");
            return;
        }
        _ready.TrySetResult(table);
    }

    private void OnMetadata(FunctionMetadataResponse response)
    {
        if (response.Result?.Status != StatusResult.Types.Status.Success)
        {
            Fail($"the worker could not index its functions: {response.Result?.Exception?.Message}");
            return;
        }
        _loadsOutstanding = response.FunctionMetadataResults.Count;
        if (_loadsOutstanding == 0)
        {
            _ready.TrySetResult(new HttpRouteTable([]));
            return;
        }
        foreach (var function in response.FunctionMetadataResults)
        {
            if (string.IsNullOrEmpty(function.FunctionId)) function.FunctionId = NewId();
            _functions[function.FunctionId] = function;
            if (HttpRouteTable.FromBindings(function.Name, function.FunctionId, function.RawBindings, host.RoutePrefix) is { } route)
                _routes.Add(route);
            else if (SmartApp.DevHost.Triggers.TriggerBindings.From(function.Name, function.FunctionId, function.RawBindings) is { } trigger)
                _triggers.Add(trigger);
            // One load request per function: the .NET worker does not handle the batched form.
            Send(new StreamingMessage { RequestId = NewId(), FunctionLoadRequest = new FunctionLoadRequest { FunctionId = function.FunctionId, Metadata = function } });
        }
    }

    private void OnLog(RpcLog log)
    {
        var level = log.Level switch
        {
            RpcLog.Types.Level.Trace => LogLevel.Trace,
            RpcLog.Types.Level.Debug => LogLevel.Debug,
            RpcLog.Types.Level.Information => LogLevel.Information,
            RpcLog.Types.Level.Warning => LogLevel.Warning,
            RpcLog.Types.Level.Error => LogLevel.Error,
            RpcLog.Types.Level.Critical => LogLevel.Critical,
            _ => LogLevel.None,
        };
        if (level == LogLevel.None || !logger.IsEnabled(level)) return;
        var exception = log.Exception is { } e && !string.IsNullOrEmpty(e.Message) ? $" | {e.Type}: {e.Message}{Environment.NewLine}{e.StackTrace}" : "";
        LogWorker(logger, level, log.Category, log.Message + exception);
    }

    private void Fail(string reason)
    {
        if (_ready.TrySetException(new WorkerUnavailableException($"The function app is not available: {reason}.")))
            LogNotReady(logger, reason);
    }

    private void Send(StreamingMessage message) => _outbound.Writer.TryWrite(message);

    private static string NewId() => Guid.NewGuid().ToString();

    [LoggerMessage(EventId = 201, Message = "[worker] {Category}: {Message}")]
    private static partial void LogWorker(ILogger logger, LogLevel level, string category, string message);

    [LoggerMessage(EventId = 204, Level = LogLevel.Error, Message = "Route refused: {Refused}")]
    private static partial void LogRefusedRoute(ILogger logger, string refused);

    [LoggerMessage(EventId = 203, Level = LogLevel.Error, Message = "Route shadowed: {Shadowed}")]
    private static partial void LogShadowedRoute(ILogger logger, string shadowed);

    [LoggerMessage(EventId = 202, Level = LogLevel.Error, Message = "The function app is not available: {Reason}")]
    private static partial void LogNotReady(ILogger logger, string reason);
}
