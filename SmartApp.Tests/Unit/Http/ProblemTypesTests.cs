using System.Net;
using Microsoft.Azure.Cosmos;
using SmartApp.Domain.Common.Errors;
using SmartApp.Functions.Http;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class ProblemTypesTests
{
    public static TheoryData<Exception, int, string> Mappings() => new()
    {
        { new ValidationFailedException("name", "too long"), 400, "validation" },
        { new UnauthorizedException(), 401, "unauthorized" },
        { new QuotaExceededException("upgrade", paymentRequired: true), 402, "quota-exceeded" },
        { new ForbiddenException(), 403, "forbidden" },
        { new NotFoundException(), 404, "not-found" },
        { new ConflictException("exists"), 409, "conflict" },
        { new PreconditionFailedException(), 412, "precondition-failed" },
        { new PayloadTooLargeException("big"), 413, "payload-too-large" },
        { new UnsupportedMediaTypeException("xml"), 415, "unsupported-media-type" },
        { new QuotaExceededException("daily limit", TimeSpan.FromHours(1)), 429, "quota-exceeded" },
        { new RateLimitedException("slow down", TimeSpan.FromSeconds(3)), 429, "rate-limited" },
        { new UpstreamUnavailableException("model down", TimeSpan.FromSeconds(30)), 503, "upstream-unavailable" },
        { new CosmosException("throttled", HttpStatusCode.TooManyRequests, 0, "a", 1), 503, "upstream-unavailable" },
        { new Azure.RequestFailedException(503, "busy"), 503, "upstream-unavailable" },
        { new AggregateException(new Azure.RequestFailedException(0, "Connection refused"), new Azure.RequestFailedException(0, "Connection refused")), 503, "upstream-unavailable" },
        { new AggregateException(new Azure.RequestFailedException(0, "Connection refused"), new InvalidOperationException("bug")), 500, "unexpected" },
        { new InvalidOperationException("secret connection string"), 500, "unexpected" },
    };

    [Theory]
    [MemberData(nameof(Mappings))]
    public void Each_failure_maps_to_one_status_and_type(Exception exception, int status, string kind)
    {
        var problem = ProblemTypes.From(exception);
        Assert.Equal(status, problem.Kind.Status);
        Assert.Equal($"https://smartapp.dev/problems/{kind}", problem.Kind.Type);
    }

    [Fact]
    public void An_unexpected_failure_never_carries_its_message()
    {
        var problem = ProblemTypes.From(new InvalidOperationException("AccountKey=abc"));
        Assert.DoesNotContain("AccountKey", problem.Detail);
    }

    [Fact]
    public void Retry_after_and_field_errors_are_kept()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), ProblemTypes.From(new UpstreamUnavailableException("down", TimeSpan.FromSeconds(30))).RetryAfter);
        var errors = ProblemTypes.From(new ValidationFailedException("email", "bad")).Errors;
        Assert.Equal(["bad"], errors!["email"]);
    }
}
