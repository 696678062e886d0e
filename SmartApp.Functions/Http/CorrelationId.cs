using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.Logging;

namespace SmartApp.Functions.Http;

/// <summary>
/// <c>X-Correlation-Id</c>: taken from the request when it is well formed, made otherwise, echoed on
/// the response and put in the logging scope of everything the request does. Every response also lets web
/// apps on other origins read it and the other headers the API answers with (CORS shows scripts only a few
/// by default): Retry-After above all, which says when a refused call may be made again.
/// </summary>
internal sealed partial class CorrelationId(ILogger<CorrelationId> logger) : IFunctionsWorkerMiddleware
{
    public const string HeaderName = "X-Correlation-Id";
    private const string ExposedHeaders = "Retry-After, ETag, Location, Idempotent-Replayed, WWW-Authenticate, " + HeaderName;
    private static readonly object ItemKey = new();
    private static readonly object TraceIdKey = new();

    public static string? Get(HttpContext context) => context.Items.TryGetValue(ItemKey, out var value) ? value as string : null;

    /// <summary>The W3C trace id of the invocation (what Application Insights indexes), else the invocation id.</summary>
    public static string? TraceId(HttpContext context) => context.Items.TryGetValue(TraceIdKey, out var value) ? value as string : null;

    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        var http = context.GetHttpContext()!;
        var offered = http.Request.Headers[HeaderName].ToString();
        var id = WellFormed().IsMatch(offered) ? offered : Guid.NewGuid().ToString("N");
        http.Items[ItemKey] = id;
        // traceparent is "00-{trace id}-{span id}-{flags}".
        var traceParent = context.TraceContext?.TraceParent;
        http.Items[TraceIdKey] = traceParent is { Length: 55 } ? traceParent.Substring(3, 32) : context.InvocationId;
        Stamp(http.Response, id);
        using (logger.BeginScope(new Dictionary<string, object> { ["CorrelationId"] = id, ["InvocationId"] = context.InvocationId }))
        {
            await next(context).ConfigureAwait(false);
        }
    }

    /// <summary>The id on the response, which web apps on other origins may read along with the API's other headers.</summary>
    public static void Stamp(HttpResponse response, string id)
    {
        response.Headers[HeaderName] = id;
        response.Headers.AccessControlExposeHeaders = ExposedHeaders;
    }

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,128}$")]
    private static partial Regex WellFormed();
}
