namespace SmartApp.Domain.Common.Errors;

/// <summary>
/// The failures a capability reports to its caller. The HTTP edge maps each kind to one status
/// and one ProblemDetails type; the message is safe to show to a client (never internals).
/// </summary>
public abstract class DomainException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Input was rejected; <see cref="Errors"/> names each offending field.</summary>
public sealed class ValidationFailedException(IReadOnlyDictionary<string, string[]> errors, string message = "One or more fields are invalid.")
    : DomainException(message)
{
    public IReadOnlyDictionary<string, string[]> Errors { get; } = errors;

    public ValidationFailedException(string field, string error)
        : this(new Dictionary<string, string[]> { [field] = [error] }, error) { }
}

/// <summary>No valid credentials were presented.</summary>
public sealed class UnauthorizedException(string message = "A valid bearer token is required.") : DomainException(message);

/// <summary>The caller is known but may not do this.</summary>
/// <summary>
/// The identity provider needs one more step before it signs the user in (AuthKit's <c>email_verification_required</c>,
/// <c>organization_selection_required</c>, …): the client finishes it with the pending token.
/// </summary>
public sealed class PendingAuthenticationException(string code, string message, string? pendingToken, string? email, IReadOnlyList<(string Id, string Name)> organizations)
    : DomainException(message)
{
    public string Code { get; } = code;
    public string? PendingAuthenticationToken { get; } = pendingToken;
    public string? Email { get; } = email;
    public IReadOnlyList<(string Id, string Name)> Organizations { get; } = organizations;
}

public sealed class ForbiddenException(string message = "You do not have access to this resource.") : DomainException(message);

/// <summary>The thing does not exist for this user (also used for another user's things, so ids cannot be probed).</summary>
public sealed class NotFoundException(string message = "The resource was not found.") : DomainException(message);

/// <summary>The request conflicts with the current state (a duplicate, a concurrent change).</summary>
public sealed class ConflictException(string message) : DomainException(message);

/// <summary>An <c>If-Match</c> precondition did not hold.</summary>
public sealed class PreconditionFailedException(string message = "The resource has changed since it was read.") : DomainException(message);

public sealed class PayloadTooLargeException(string message) : DomainException(message);

public sealed class UnsupportedMediaTypeException(string message) : DomainException(message);

/// <summary>A plan limit was reached. <see cref="PaymentRequired"/> when only a paid plan lifts it.</summary>
public sealed class QuotaExceededException(string message, TimeSpan? retryAfter = null, bool paymentRequired = false) : DomainException(message)
{
    public TimeSpan? RetryAfter { get; } = retryAfter;
    public bool PaymentRequired { get; } = paymentRequired;
}

/// <summary>Too many requests in a short window.</summary>
public sealed class RateLimitedException(string message, TimeSpan? retryAfter = null) : DomainException(message)
{
    public TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>A dependency (storage, the model, a provider) cannot serve the request now.</summary>
public sealed class UpstreamUnavailableException(string message, TimeSpan? retryAfter = null, Exception? inner = null) : DomainException(message, inner)
{
    public TimeSpan? RetryAfter { get; } = retryAfter;
}
