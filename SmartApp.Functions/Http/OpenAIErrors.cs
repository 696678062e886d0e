using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace SmartApp.Functions.Http;

/// <summary>
/// Errors on the OpenAI-compatible routes (<c>/api/v1/…</c>) in OpenAI's body, <c>{ error: { message, type, param, code } }</c>,
/// which OpenAI clients parse into their exceptions; the status is the same as the problem's.
/// </summary>
internal static class OpenAIErrors
{
    public static bool Applies(HttpContext context) => context.Request.Path.StartsWithSegments("/api/v1", StringComparison.Ordinal);

    public static async Task WriteAsync(HttpContext context, Problem problem)
    {
        var response = context.Response;
        response.ContentType = "application/json";
        if (problem.Kind.Status == StatusCodes.Status503ServiceUnavailable || problem.Kind == ProblemTypes.QuotaExceeded)
        {
            // OpenAI's clients retry a 503 and a 429 (the .NET one three times, waiting Retry-After each time: 30 s would keep
            // the caller waiting about a minute and a half for the same answer, and a used-up daily quota's reset would keep it
            // waiting for hours). Neither answer changes soon, so they are told not to retry (x-should-retry, which the Python
            // and Node clients honour) or to retry at once (retry-after-ms); the message says when the quota resets.
            response.Headers["x-should-retry"] = "false";
            response.Headers["retry-after-ms"] = "250";
            response.Headers.RetryAfter = "1";
        }
        await JsonSerializer.SerializeAsync(response.Body, Body(problem), cancellationToken: context.RequestAborted).ConfigureAwait(false);
    }

    public static JsonObject Body(Problem problem)
    {
        var (type, code) = problem.Kind.Status switch
        {
            StatusCodes.Status401Unauthorized => ("invalid_request_error", "invalid_api_key"),
            StatusCodes.Status403Forbidden => ("invalid_request_error", "forbidden"),
            StatusCodes.Status404NotFound => ("invalid_request_error", "model_not_found"),
            StatusCodes.Status402PaymentRequired => ("insufficient_quota", "insufficient_quota"),
            StatusCodes.Status429TooManyRequests when problem.Kind == ProblemTypes.QuotaExceeded => ("insufficient_quota", "insufficient_quota"),
            StatusCodes.Status429TooManyRequests => ("requests", "rate_limit_exceeded"),
            >= 500 => ("server_error", problem.Kind.Status == StatusCodes.Status503ServiceUnavailable ? "service_unavailable" : "server_error"),
            _ => ("invalid_request_error", (string?)null),
        };
        return new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["message"] = problem.Detail,
                ["type"] = type,
                ["param"] = problem.Errors?.Keys.FirstOrDefault(),
                ["code"] = code,
            },
        };
    }
}
