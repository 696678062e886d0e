using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using SmartApp.Domain.Common;

namespace SmartApp.Functions.Http;

/// <summary>Writes a <see cref="Problem"/> as <c>application/problem+json</c>, with traceId and correlationId.</summary>
internal static class ProblemWriter
{
    public const string ContentType = "application/problem+json";

    public static ProblemDetails ToProblemDetails(Problem problem, HttpContext context)
    {
        ProblemDetails details = problem.Errors is { Count: > 0 } errors
            ? new ValidationProblemDetails(errors.ToDictionary(e => e.Key, e => e.Value))
            : new ProblemDetails();
        details.Type = problem.Kind.Type;
        details.Title = problem.Kind.Title;
        details.Status = problem.Kind.Status;
        details.Detail = problem.Detail;
        details.Instance = context.Request.Path.Value;
        details.Extensions["traceId"] = TraceId(context);
        if (CorrelationId.Get(context) is { } correlationId) details.Extensions["correlationId"] = correlationId;
        foreach (var (name, value) in problem.Extensions ?? new Dictionary<string, object?>()) details.Extensions[name] = value;
        return details;
    }

    public static async Task WriteAsync(HttpContext context, Problem problem)
    {
        var response = context.Response;
        response.Clear();
        response.StatusCode = problem.Kind.Status;
        response.ContentType = ContentType;
        response.Headers.CacheControl = "no-store";
        if (problem.RetryAfter is { } retryAfter)
            response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        if (problem.Kind.Status == StatusCodes.Status401Unauthorized)
            response.Headers.WWWAuthenticate = Agents.McpFunctions.Applies(context)
                ? $"Bearer resource_metadata=\"{Agents.McpFunctions.MetadataUrl(context)}\""
                : "Bearer";
        if (CorrelationId.Get(context) is { } correlationId)
            CorrelationId.Stamp(response, correlationId); // Clear() took it off with every other header
        if (OpenAIErrors.Applies(context))
        {
            await OpenAIErrors.WriteAsync(context, problem).ConfigureAwait(false);
            return;
        }
        var details = ToProblemDetails(problem, context);
        await JsonSerializer.SerializeAsync(response.Body, details, details.GetType(), JsonDefaults.Options, context.RequestAborted).ConfigureAwait(false);
    }

    private static string TraceId(HttpContext context) =>
        CorrelationId.TraceId(context) ?? Activity.Current?.TraceId.ToHexString() ?? context.TraceIdentifier;
}
