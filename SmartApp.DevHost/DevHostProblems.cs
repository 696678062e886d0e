using System.Diagnostics;
using System.Text.Json;

namespace SmartApp.DevHost;

/// <summary>RFC 9457 problems for what the host itself answers (no route, worker down, function failed).</summary>
internal static class DevHostProblems
{
    private const string Base = "https://smartapp.dev/problems/";

    public static Task NotFoundAsync(HttpContext context) =>
        WriteAsync(context, 404, "not-found", "The resource was not found.", $"No route matches {context.Request.Method} {context.Request.Path}.");

    public static Task FunctionFailedAsync(HttpContext context) =>
        WriteAsync(context, 500, "unexpected", "An unexpected error occurred.", "The server could not complete the request. Quote the traceId when reporting it.");

    public static Task UnavailableAsync(HttpContext context, string detail) =>
        WriteAsync(context, 503, "upstream-unavailable", "The function app is unavailable.", detail, retryAfterSeconds: 5);

    /// <summary>The client's body broke off or could not be read: the client's problem, not the app's.</summary>
    public static Task UnreadableBodyAsync(HttpContext context) =>
        WriteAsync(context, 400, "validation", "The request body could not be read.", "The request body ended early or could not be read; send it again.");

    /// <summary>The worker went away during the request (it is restarted): a 503 the client may retry, like any other unavailability.</summary>
    public static Task WorkerLostAsync(HttpContext context) =>
        WriteAsync(context, 503, "upstream-unavailable", "The function app did not answer.", "The function app stopped answering during the request; try again.", retryAfterSeconds: 2);

    private static async Task WriteAsync(HttpContext context, int status, string type, string title, string detail, int? retryAfterSeconds = null)
    {
        var response = context.Response;
        response.Clear();
        response.StatusCode = status;
        response.ContentType = "application/problem+json";
        response.Headers.CacheControl = "no-store";
        if (retryAfterSeconds is { } seconds) response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var traceId = Activity.Current?.TraceId.ToHexString() ?? context.TraceIdentifier;
        await JsonSerializer.SerializeAsync(response.Body, new Dictionary<string, object>
        {
            ["type"] = Base + type,
            ["title"] = title,
            ["status"] = status,
            ["detail"] = detail,
            ["instance"] = context.Request.Path.Value ?? "/",
            ["traceId"] = traceId,
        });
    }
}
