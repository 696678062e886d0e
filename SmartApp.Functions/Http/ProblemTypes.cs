using System.Net;
using Azure;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Cosmos;
using SmartApp.Domain.Common.Errors;

namespace SmartApp.Functions.Http;

/// <summary>One kind of error as clients see it: a status, a stable <c>type</c> URI, a title.</summary>
internal sealed record ProblemKind(int Status, string Type, string Title);

/// <summary>Problem describing one failure: its kind, a client-safe detail, and an optional Retry-After.</summary>
internal sealed record Problem(ProblemKind Kind, string Detail, TimeSpan? RetryAfter = null, IReadOnlyDictionary<string, string[]>? Errors = null)
{
    /// <summary>More members of the problem object a client acts on (a pending sign-in's code and token).</summary>
    public IReadOnlyDictionary<string, object?>? Extensions { get; init; }
}

/// <summary>
/// The one table from failures to RFC 9457 problems. Every error the API returns goes through
/// <see cref="From"/>; anything not listed is a 500 whose detail says nothing about internals.
/// </summary>
internal static class ProblemTypes
{
    private const string Base = "https://smartapp.dev/problems/";

    public static readonly ProblemKind Validation = new(400, Base + "validation", "The request is not valid.");
    public static readonly ProblemKind Unauthorized = new(401, Base + "unauthorized", "Authentication is required.");
    public static readonly ProblemKind PaymentRequired = new(402, Base + "quota-exceeded", "A paid plan is required.");
    public static readonly ProblemKind Forbidden = new(403, Base + "forbidden", "Access is denied.");
    public static readonly ProblemKind AuthenticationPending = new(403, Base + "authentication-pending", "Sign-in needs one more step.");
    public static readonly ProblemKind NotFound = new(404, Base + "not-found", "The resource was not found.");
    public static readonly ProblemKind Conflict = new(409, Base + "conflict", "The request conflicts with the current state.");
    public static readonly ProblemKind PreconditionFailed = new(412, Base + "precondition-failed", "The resource has changed.");
    public static readonly ProblemKind PayloadTooLarge = new(413, Base + "payload-too-large", "The request is too large.");
    public static readonly ProblemKind UnsupportedMediaType = new(415, Base + "unsupported-media-type", "The content type is not supported.");
    public static readonly ProblemKind QuotaExceeded = new(429, Base + "quota-exceeded", "A plan limit was reached.");
    public static readonly ProblemKind RateLimited = new(429, Base + "rate-limited", "Too many requests.");
    public static readonly ProblemKind Unexpected = new(500, Base + "unexpected", "An unexpected error occurred.");
    public static readonly ProblemKind UpstreamUnavailable = new(503, Base + "upstream-unavailable", "A service the request depends on is unavailable.");

    private static readonly TimeSpan StorageRetryAfter = TimeSpan.FromSeconds(5);

    public static Problem From(Exception exception) => exception switch
    {
        ValidationFailedException e => new(Validation, e.Message, Errors: e.Errors),
        UnauthorizedException e => new(Unauthorized, e.Message),
        ForbiddenException e => new(Forbidden, e.Message),
        PendingAuthenticationException e => new(AuthenticationPending, e.Message)
        {
            Extensions = new Dictionary<string, object?>
            {
                ["code"] = e.Code,
                ["pendingAuthenticationToken"] = e.PendingAuthenticationToken,
                ["email"] = e.Email,
                ["organizations"] = e.Organizations.Select(o => new { id = o.Id, name = o.Name }).ToArray(),
            },
        },
        NotFoundException e => new(NotFound, e.Message),
        ConflictException e => new(Conflict, e.Message),
        PreconditionFailedException e => new(PreconditionFailed, e.Message),
        PayloadTooLargeException e => new(PayloadTooLarge, e.Message),
        UnsupportedMediaTypeException e => new(UnsupportedMediaType, e.Message),
        QuotaExceededException { PaymentRequired: true } e => new(PaymentRequired, e.Message),
        QuotaExceededException e => new(QuotaExceeded, e.Message, e.RetryAfter),
        RateLimitedException e => new(RateLimited, e.Message, e.RetryAfter),
        UpstreamUnavailableException e => new(UpstreamUnavailable, e.Message, e.RetryAfter),
        BadHttpRequestException { StatusCode: 413 } => new(PayloadTooLarge, "The request body is too large."),
        BadHttpRequestException => new(Validation, "The request could not be read."),
        // Storage that is throttling, unreachable or timing out: the client may retry later.
        CosmosException { StatusCode: HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable or HttpStatusCode.RequestTimeout } e =>
            new(UpstreamUnavailable, "Storage is busy or unavailable; try again shortly.", e.RetryAfter ?? StorageRetryAfter),
        RequestFailedException { Status: 0 or 408 or 429 or >= 500 } =>
            new(UpstreamUnavailable, "Storage is busy or unavailable; try again shortly.", StorageRetryAfter),
        HttpRequestException or TimeoutException =>
            new(UpstreamUnavailable, "A service the request depends on did not answer; try again shortly.", StorageRetryAfter),
        // Azure SDK clients throw every attempt's failure together once their retries are spent (Azurite or
        // Blob Storage unreachable): still "unavailable, try again", as long as each attempt's failure is.
        AggregateException { InnerExceptions.Count: > 0 } e when e.InnerExceptions.All(inner => From(inner).Kind == UpstreamUnavailable) =>
            From(e.InnerExceptions[^1]),
        _ => new(Unexpected, "The server could not complete the request. Quote the traceId when reporting it."),
    };
}
