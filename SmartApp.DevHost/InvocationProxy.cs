using System.Diagnostics;
using System.Text.Json;
using SmartApp.DevHost.Rpc;
using SmartApp.DevHost.Worker;
using Yarp.ReverseProxy.Forwarder;

namespace SmartApp.DevHost;

/// <summary>
/// Serves one client request the way the Functions host does with the worker's HTTP server:
/// match the route, send the invocation over gRPC and forward the raw request with YARP's default
/// transforms (paired by <c>x-ms-invocation-id</c>, added only when the request has none, as
/// <c>DefaultHttpProxyService</c> does), stream the worker's response back, cancel if the client leaves.
/// The platform's clocks apply: the front end's response-start deadline, the proxy's idle timeout,
/// and <c>functionTimeout</c> as a total limit that restarts the worker.
/// </summary>
public sealed partial class InvocationProxy(
    WorkerSupervisor workers, IHttpForwarder forwarder, HostSettings host, DevHostOptions options, HostAnswers answers, ILogger<InvocationProxy> logger)
{
    public const string InvocationIdHeader = "x-ms-invocation-id";

    // The host's proxy client: no redirects or cookies, connection failures retried (RetryProxyHandler), the
    // current activity's traceparent propagated (SocketsHttpHandler's default propagator).
    private readonly HttpMessageInvoker _invoker = new(new RetryProxyHandler(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        UseCookies = false,
    }, logger));

    public async Task HandleAsync(HttpContext context)
    {
        if (workers.IsStopping)
        {
            await answers.HostNotRunningAsync(context);
            return;
        }
        // The host's body limit (100 MiB, or FUNCTIONS_REQUEST_BODY_SIZE_LIMIT), before anything else: the worker's own cannot raise it.
        if (context.Request.ContentLength > host.MaxRequestBodyBytes)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            LogRequest(logger, context.Request.Method, context.Request.Path, 413, "-", 0, "body over the host's limit");
            return;
        }
        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = host.MaxRequestBodyBytes;
        workers.BeginRequest();
        try
        {
            await ServeAsync(context);
        }
        finally
        {
            workers.EndRequest();
        }
    }

    private async Task ServeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        WorkerConnection worker;
        Routing.HttpRouteTable routes;
        try
        {
            (worker, routes) = await workers.GetReadyAsync(context.RequestAborted);
        }
        catch (Exception ex) when (ex is WorkerUnavailableException or TimeoutException)
        {
            LogUnavailable(logger, context.Request.Method, context.Request.Path, ex.Message);
            await answers.HostNotRunningAsync(context);
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        var match = routes.Match(context.Request.Method, context.Request.Path);
        if (match is null)
        {
            await answers.NotFoundAsync(context);
            return;
        }

        var invocationId = Guid.NewGuid().ToString();
        context.Request.Headers.TryAdd(InvocationIdHeader, invocationId);
        var invocation = worker.Invoke(BuildInvocation(invocationId, match, context));
        var transformer = new InvocationTransformer(invocation);
        var outcome = "ok";
        ForwarderError error;
        using (var cut = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted))
        {
            var frontEndCut = false;
            var timedOut = false;
            void Cut()
            {
                try { cut.Cancel(); }
                catch (ObjectDisposedException) { } // the request ended as the clock ran out
            }
            using var frontEnd = new Timer(_ =>
            {
                // Azure's front end: a response that has not started in time is answered 502; the host sees the client go.
                if (context.Response.HasStarted) return;
                frontEndCut = true;
                Cut();
            }, null, options.Timings.ResponseStart, Timeout.InfiniteTimeSpan);
            using var functionTimeout = workers.WatchFunctionTimeout(worker, invocation, match.Route.FunctionName, invocationId,
                timedOut: () => timedOut = true, afterRestart: Cut);
            using (cut.Token.Register(() => worker.Cancel(invocationId)))
            {
                error = await forwarder.SendAsync(context, worker.HttpUri!, _invoker,
                    new ForwarderRequestConfig { ActivityTimeout = options.Timings.ProxyIdle, Version = System.Net.HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact },
                    transformer, cut.Token);
            }
            if (error == ForwarderError.None && !transformer.FailedInvocation)
            {
                // Done.
            }
            else if (context.RequestAborted.IsCancellationRequested)
            {
                outcome = "client disconnected";
            }
            else if (context.Response.HasStarted)
            {
                outcome = $"forwarding failed after the response started: {error}";
                context.Abort();
            }
            else if (frontEndCut && !timedOut)
            {
                await answers.FrontEndTimeoutAsync(context, options.Timings.ResponseStart);
                outcome = $"no response within {options.Timings.ResponseStart.TotalSeconds:0} s (the front end's deadline)";
            }
            else if (BodyTooLarge(context.Features.Get<IForwarderErrorFeature>()?.Exception))
            {
                // A body without a length that passed the host's limit: the host's refusal, as its server gives it.
                context.Response.Clear();
                context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                outcome = "body over the host's limit";
            }
            else
            {
                // The invocation failed, timed out, or its worker was lost: ExceptionMiddleware's 500.
                outcome = timedOut ? "function timeout" : transformer.FailedInvocation ? "function failed" : $"forwarding failed: {error}";
                if (error != ForwarderError.None)
                    LogForwardingError(logger, error.ToString(), context.Features.Get<IForwarderErrorFeature>()?.Exception?.ToString() ?? "");
                await answers.FunctionFailedAsync(context);
            }
        }
        LogRequest(logger, context.Request.Method, context.Request.Path, context.Response.StatusCode, match.Route.FunctionName,
            (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds, outcome);
    }

    /// <summary>Whether reading the client's body failed because it passed the host's limit (the server's exception, however wrapped).</summary>
    private static bool BodyTooLarge(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
            if (e is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }) return true;
        return false;
    }

    private static InvocationRequest BuildInvocation(string invocationId, Routing.RouteMatch match, HttpContext context)
    {
        var request = new InvocationRequest
        {
            InvocationId = invocationId,
            FunctionId = match.Route.FunctionId,
            TraceContext = new RpcTraceContext
            {
                TraceParent = Activity.Current?.Id is { } id && Activity.Current.IdFormat == ActivityIdFormat.W3C
                    ? id
                    : $"00-{ActivityTraceId.CreateRandom()}-{ActivitySpanId.CreateRandom()}-00",
                TraceState = Activity.Current?.TraceStateString ?? "",
            },
        };
        // The body travels over HTTP; the trigger's binding data is empty (RpcHttpBodyOnly / HttpUri).
        request.InputData.Add(new ParameterBinding { Name = match.Route.TriggerParameter, Data = new TypedData { Http = new RpcHttp() } });
        // Binding data: query values, then route values (route wins), as the host sends them.
        foreach (var (key, value) in context.Request.Query)
            request.TriggerMetadata[key] = new TypedData { String = value.ToString() };
        foreach (var (key, value) in match.Values)
            if (value is not null)
                request.TriggerMetadata[key] = new TypedData { String = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "" };
        request.TriggerMetadata["Query"] = new TypedData { Json = JsonSerializer.Serialize(context.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString())) };
        request.TriggerMetadata["Headers"] = new TypedData { Json = JsonSerializer.Serialize(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString())) };
        return request;
    }

    /// <summary>
    /// YARP's default transforms (the host's), and a check of the worker's empty 200: the worker answers a
    /// failed invocation so, and the host then waits for the invocation's result to answer 500 instead.
    /// Streamed answers pass straight through.
    /// </summary>
    private sealed class InvocationTransformer(Task<InvocationResponse> invocation) : HttpTransformer
    {
        public bool FailedInvocation { get; private set; }

        public override ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken) =>
            Default.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);

        public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
        {
            if (proxyResponse is { StatusCode: System.Net.HttpStatusCode.OK, Content.Headers.ContentLength: 0 or null }
                && proxyResponse.Headers.TransferEncodingChunked != true)
            {
                try
                {
                    var result = await invocation.WaitAsync(cancellationToken);
                    if (result.Result?.Status == StatusResult.Types.Status.Failure)
                    {
                        FailedInvocation = true;
                        return false;
                    }
                }
                catch (WorkerUnavailableException)
                {
                    FailedInvocation = true; // the worker went with the invocation
                    return false;
                }
            }
            return await Default.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        }

        public override ValueTask TransformResponseTrailersAsync(HttpContext httpContext, HttpResponseMessage proxyResponse, CancellationToken cancellationToken) =>
            Default.TransformResponseTrailersAsync(httpContext, proxyResponse, cancellationToken);
    }

    /// <summary>
    /// The host's retries of a connection to the worker that fails (<c>RetryProxyHandler</c>): up to 10
    /// attempts, 50 ms apart at first, doubling to at most 250 ms.
    /// </summary>
    public sealed class RetryProxyHandler(HttpMessageHandler inner, ILogger logger) : DelegatingHandler(inner)
    {
        public const int MaxRetries = 10, InitialDelayMilliseconds = 50, MaximumDelayMilliseconds = 250;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var delay = InitialDelayMilliseconds;
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    return await base.SendAsync(request, cancellationToken);
                }
                catch (HttpRequestException) when (attempt < MaxRetries)
                {
                    LogProxyRetry(logger, delay, attempt, MaxRetries);
                    await Task.Delay(delay, cancellationToken);
                    delay = Math.Min(delay * 2, MaximumDelayMilliseconds);
                }
            }
        }
    }

    [LoggerMessage(EventId = 403, Level = LogLevel.Warning, Message = "Failed to proxy request to the worker. Retrying in {Delay} ms. Attempt {Attempt} of {MaxRetries}.")]
    private static partial void LogProxyRetry(ILogger logger, int delay, int attempt, int maxRetries);

    [LoggerMessage(EventId = 404, Level = LogLevel.Warning, Message = "{Method} {Path} -> 503: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string method, string path, string reason);

    [LoggerMessage(EventId = 402, Level = LogLevel.Debug, Message = "Forwarding failed ({Error}): {Exception}")]
    private static partial void LogForwardingError(ILogger logger, string error, string exception);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "{Method} {Path} -> {Status} ({Function}, {Milliseconds} ms, {Outcome})")]
    private static partial void LogRequest(ILogger logger, string method, string path, int status, string function, long milliseconds, string outcome);
}
