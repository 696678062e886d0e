using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.Logging;

namespace SmartApp.Functions.Http;

/// <summary>
/// <c>X-Correlation-Id</c>: taken from the request when it is well formed, made otherwise, echoed on
/// the response and put in the logging scope of everything the request does.
/// </summary>
internal sealed partial class CorrelationId(ILogger<CorrelationId> logger) : IFunctionsWorkerMiddleware
{
    public const string HeaderName = "X-Correlation-Id";
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
        http.Response.Headers[HeaderName] = id;
        using (logger.BeginScope(new Dictionary<string, object> { ["CorrelationId"] = id, ["InvocationId"] = context.InvocationId }))
        {
            await next(context).ConfigureAwait(false);
        }
    }

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,128}$")]
    private static partial Regex WellFormed();
}
