namespace SmartApp.Domain.Identity;

/// <summary>A person who signs in to an app built on SmartApp. Every record in every store belongs to one.</summary>
public sealed record User(
    string Id,
    string Email,
    string? Name,
    string Plan,
    string Provider,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public DateTimeOffset? LastSignInAt { get; init; }
}

/// <summary>What a sign-in tells us about the person; the user record is created or brought up to date from it.</summary>
public sealed record UserSignIn(string UserId, string Email, string? Name, string Provider);

/// <summary>The caller of a request, as proven by a verified token. The user id never comes from anywhere else.</summary>
public sealed record CurrentUser(string UserId, string? Email, string? Name, bool IsAdmin)
{
    /// <summary>The sign-in session the token belongs to (WorkOS <c>sid</c>), when there is one.</summary>
    public string? SessionId { get; init; }

    /// <summary>When the token that proved this stops being valid.</summary>
    public DateTimeOffset ExpiresAt { get; init; } = DateTimeOffset.MaxValue;

    /// <summary>The organization the session is signed in to (WorkOS <c>org_id</c>) and the user's role and permissions there.</summary>
    public string? OrganizationId { get; init; }
    public string? Role { get; init; }
    public IReadOnlyList<string> Roles { get; init; } = [];
    public IReadOnlyList<string> Permissions { get; init; } = [];

    /// <summary>Who is acting as the user (WorkOS impersonation, the token's <c>act.sub</c>); null for the user themselves.</summary>
    public string? Impersonator { get; init; }
}

/// <summary>
/// A user changed (<c>user.updated</c>) or deleted (<c>user.deleted</c>), or an organization deleted (<c>organization.deleted</c>),
/// at the identity provider; <paramref name="SubjectId"/> is the user's or the organization's id.
/// </summary>
public sealed record IdentityEvent(string Id, string Type, string SubjectId, string? Email, string? Name);

/// <summary>What a client sends to get tokens: a code (with its PKCE verifier), a refresh token, or a pending sign-in's next step.</summary>
public sealed record TokenExchange(string? Code, string? CodeVerifier, string? RefreshToken, string? PendingAuthenticationToken = null, string? OrganizationId = null);

/// <summary>An access token and when it stops being accepted.</summary>
public sealed record IssuedToken(string AccessToken, DateTimeOffset ExpiresAt);

/// <summary>The answer to a sign-in: the tokens and the user they speak for (a refresh token where the provider issues one).</summary>
public sealed record SignInResult(string AccessToken, string TokenType, DateTimeOffset ExpiresAt, User User, string? RefreshToken = null);

/// <summary>What the identity provider answers to a code or refresh-token exchange.</summary>
public sealed record ProviderSignIn(UserSignIn User, string AccessToken, string RefreshToken);

/// <summary>A web sign-in under way: the provider URL to visit, and the state and PKCE verifier kept for the callback.</summary>
public sealed record WebSignIn(Uri AuthorizationUrl, string State, string CodeVerifier, string? ReturnTo);
