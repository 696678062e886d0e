using System.Diagnostics;
using System.Text.Json;
using SmartApp.DevHost.Rpc;
using SmartApp.DevHost.Worker;
using Yarp.ReverseProxy.Forwarder;

namespace SmartApp.DevHost;

/// <summary>
/// Serves one client request the way the Functions host does with the worker's HTTP server:
/// match the route, send the invocation over gRPC and forward the raw request (paired by
/// <c>x-ms-invocation-id</c>), stream the worker's response back, cancel if the client leaves.
/// </summary>
public sealed partial class InvocationProxy(WorkerSupervisor workers, IHttpForwarder forwarder, HostSettings host, ILogger<InvocationProxy> logger)
{
    public const string InvocationIdHeader = "x-ms-invocation-id";

    // How long an empty 200 waits for its invocation result, to tell a failed invocation from an empty answer.
    private static readonly TimeSpan FailureCheckWindow = TimeSpan.FromSeconds(5);

    private readonly HttpMessageInvoker _invoker = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        UseCookies = false,
        ActivityHeadersPropagator = null,
        ConnectTimeout = TimeSpan.FromSeconds(15),
    });

    public async Task HandleAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        // The host's body limit (100 MiB, or FUNCTIONS_REQUEST_BODY_SIZE_LIMIT), before anything else: the worker's own cannot raise it.
        if (context.Request.ContentLength > host.MaxRequestBodyBytes)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            LogRequest(logger, context.Request.Method, context.Request.Path, 413, "-", 0, "body over the host's limit");
            return;
        }
        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = host.MaxRequestBodyBytes;
        WorkerConnection worker;
        Routing.HttpRouteTable routes;
        try
        {
            (worker, routes) = await workers.GetReadyAsync(context.RequestAborted);
        }
        catch (Exception ex) when (ex is WorkerUnavailableException or TimeoutException)
        {
            await DevHostProblems.UnavailableAsync(context, "The function app is starting or has stopped; try again shortly.");
            return;
        }

        var match = routes.Match(context.Request.Method, context.Request.Path);
        if (match is null)
        {
            await DevHostProblems.NotFoundAsync(context);
            return;
        }

        var invocationId = Guid.NewGuid().ToString();
        var invocation = worker.Invoke(BuildInvocation(invocationId, match, context));
        var transformer = new InvocationTransformer(invocationId, invocation);
        ForwarderError error;
        using (context.RequestAborted.Register(() => worker.Cancel(invocationId)))
        {
            error = await forwarder.SendAsync(context, worker.HttpUri!, _invoker,
                new ForwarderRequestConfig { ActivityTimeout = host.FunctionTimeout, Version = System.Net.HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact }, transformer);
        }

        var outcome = "ok";
        if (error != ForwarderError.None)
        {
            outcome = context.RequestAborted.IsCancellationRequested ? "client disconnected" : $"forwarding failed: {error}";
            if (!context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted)
            {
                if (BodyTooLarge(context.Features.Get<IForwarderErrorFeature>()?.Exception))
                {
                    // A body without a length that passed the host's limit: the host's refusal, as its server gives it.
                    context.Response.Clear();
                    context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                    outcome = "body over the host's limit";
                }
                else
                {
                    LogForwardingError(logger, error.ToString(), context.Features.Get<IForwarderErrorFeature>()?.Exception?.ToString() ?? "");
                    await (error is ForwarderError.RequestBodyClient ? DevHostProblems.UnreadableBodyAsync(context) : DevHostProblems.WorkerLostAsync(context));
                }
            }
        }
        else if (transformer.FailedInvocation)
        {
            outcome = "function failed";
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
    /// Tags the forwarded request with its invocation id, and turns the worker's answer to a failed
    /// invocation (an empty 200) into a 500 problem. Streamed answers pass straight through.
    /// </summary>
    private sealed class InvocationTransformer(string invocationId, Task<InvocationResponse> invocation) : HttpTransformer
    {
        public bool FailedInvocation { get; private set; }

        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
            proxyRequest.Headers.Remove(InvocationIdHeader);
            proxyRequest.Headers.TryAddWithoutValidation(InvocationIdHeader, invocationId);
        }

        public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
        {
            if (proxyResponse is { StatusCode: System.Net.HttpStatusCode.OK, Content.Headers.ContentLength: 0 or null }
                && proxyResponse.Headers.TransferEncodingChunked != true)
            {
                try
                {
                    var result = await invocation.WaitAsync(FailureCheckWindow, cancellationToken);
                    if (result.Result?.Status == StatusResult.Types.Status.Failure)
                    {
                        FailedInvocation = true;
                        await DevHostProblems.FunctionFailedAsync(httpContext);
                        return false;
                    }
                }
                catch (Exception ex) when (ex is TimeoutException or WorkerUnavailableException)
                {
                    // No verdict in time: pass the worker's answer on as it is.
                }
            }
            return await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        }
    }

    [LoggerMessage(EventId = 402, Level = LogLevel.Debug, Message = "Forwarding failed ({Error}): {Exception}")]
    private static partial void LogForwardingError(ILogger logger, string error, string exception);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "{Method} {Path} -> {Status} ({Function}, {Milliseconds} ms, {Outcome})")]
    private static partial void LogRequest(ILogger logger, string method, string path, int status, string function, long milliseconds, string outcome);
}
