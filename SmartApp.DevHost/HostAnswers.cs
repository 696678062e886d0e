using System.Diagnostics;
using System.Text.Json;

namespace SmartApp.DevHost;

/// <summary>
/// What the host itself answers, as the Functions host gives it: an empty 404 (no route), an empty 500
/// (a function that failed, or a worker lost, before the response started: <c>ExceptionMiddleware</c>),
/// 503 "Function host is not running." (<c>HostAvailabilityCheckMiddleware</c>), an empty 429 with
/// <c>X-FUNCTION-SCALEOUT</c> (<c>HttpThrottleMiddleware</c>), and the front end's empty 502 for a
/// response that did not start in time. With <c>--problem-details</c>, RFC 9457 problems instead.
/// </summary>
public sealed class HostAnswers(DevHostOptions options)
{
    private const string Base = "https://smartapp.dev/problems/";

    /// <summary>The throttle's header telling the platform to scale out (<c>ScriptConstants.AntaresScaleOutHeaderName</c>).</summary>
    public const string ScaleOutHeader = "X-FUNCTION-SCALEOUT";

    public Task NotFoundAsync(HttpContext context) =>
        AnswerAsync(context, 404, "not-found", "The resource was not found.", $"No route matches {context.Request.Method} {context.Request.Path}.");

    public Task FunctionFailedAsync(HttpContext context) =>
        AnswerAsync(context, 500, "unexpected", "An unexpected error occurred.", "The server could not complete the request. Quote the traceId when reporting it.");

    public async Task HostNotRunningAsync(HttpContext context)
    {
        if (options.ProblemDetails)
        {
            await ProblemAsync(context, 503, "upstream-unavailable", "The function app is unavailable.", "The function app is starting or has stopped; try again shortly.", retryAfterSeconds: 5);
            return;
        }
        Reset(context, 503);
        await context.Response.WriteAsync("Function host is not running.");
    }

    public Task ThrottledAsync(HttpContext context)
    {
        if (options.ProblemDetails)
            return ProblemAsync(context, 429, "rate-limited", "Too many requests.", "The host's request queue is full; try again shortly.", retryAfterSeconds: 1);
        Reset(context, 429);
        context.Response.Headers[ScaleOutHeader] = "1";
        return Task.CompletedTask;
    }

    public Task FrontEndTimeoutAsync(HttpContext context, TimeSpan deadline) =>
        AnswerAsync(context, 502, "upstream-timeout", "The function app did not answer in time.", $"The response did not start within {deadline.TotalSeconds:0} s.");

    private Task AnswerAsync(HttpContext context, int status, string type, string title, string detail)
    {
        if (options.ProblemDetails) return ProblemAsync(context, status, type, title, detail);
        Reset(context, status);
        return Task.CompletedTask;
    }

    private static void Reset(HttpContext context, int status)
    {
        context.Response.Clear();
        context.Response.StatusCode = status;
    }

    private static async Task ProblemAsync(HttpContext context, int status, string type, string title, string detail, int? retryAfterSeconds = null)
    {
        Reset(context, status);
        var response = context.Response;
        response.ContentType = "application/problem+json";
        response.Headers.CacheControl = "no-store";
        if (retryAfterSeconds is { } seconds) response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await JsonSerializer.SerializeAsync(response.Body, new Dictionary<string, object>
        {
            ["type"] = Base + type,
            ["title"] = title,
            ["status"] = status,
            ["detail"] = detail,
            ["instance"] = context.Request.Path.Value ?? "/",
            ["traceId"] = Activity.Current?.TraceId.ToHexString() ?? context.TraceIdentifier,
        });
    }
}
