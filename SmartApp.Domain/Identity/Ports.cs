using Microsoft.IdentityModel.Tokens;

namespace SmartApp.Domain.Identity;

/// <summary>Where user records live (Cosmos container <c>users</c>, one partition per user).</summary>
public interface IUserRepository
{
    Task<User?> FindAsync(string userId, CancellationToken cancellationToken);

    /// <summary>Creates the user on first sign-in, or updates email and name; keeps plan and creation time.</summary>
    Task<User> UpsertFromSignInAsync(UserSignIn signIn, CancellationToken cancellationToken);

    /// <summary>Sets the email and name the identity provider now has for the user; false when there is no such user here.</summary>
    Task<bool> UpdateProfileAsync(string userId, string email, string? name, CancellationToken cancellationToken);

    /// <summary>Removes the user record; from then on the user's tokens are refused.</summary>
    Task DeleteAsync(string userId, CancellationToken cancellationToken);

    /// <summary>Sets the user's plan (billing decides it); a user that does not exist is left alone.</summary>
    Task SetPlanAsync(string userId, string plan, CancellationToken cancellationToken);
}

/// <summary>Verifies a bearer token and says who it speaks for.</summary>
public interface IAccessTokenValidator
{
    /// <returns>The caller, or null when the token is not valid (bad signature, expired, wrong issuer...).</returns>
    Task<CurrentUser?> ValidateAsync(string token, CancellationToken cancellationToken);
}

/// <summary>The sign-in provider (WorkOS AuthKit): exchanges codes and refresh tokens for tokens.</summary>
public interface IIdentityProvider
{
    /// <summary>Exchanges an authorization code (with its PKCE verifier, when one was used).</summary>
    Task<ProviderSignIn> AuthenticateWithCodeAsync(string code, string? codeVerifier, CancellationToken cancellationToken);

    /// <summary>
    /// Finishes a sign-in the provider left pending (<see cref="Common.Errors.PendingAuthenticationException"/>): with the
    /// emailed verification code, or with the organization the user chose.
    /// </summary>
    Task<ProviderSignIn> AuthenticatePendingAsync(string pendingToken, string? emailCode, string? organizationId, CancellationToken cancellationToken);

    /// <summary>
    /// Users changed or deleted, and organizations deleted, at the provider since <paramref name="after"/> (an event id; null: from the oldest it keeps),
    /// oldest first, and the cursor to read on from.
    /// </summary>
    Task<(IReadOnlyList<IdentityEvent> Events, string? Cursor)> ListEventsAsync(string? after, CancellationToken cancellationToken);

    /// <summary>Exchanges a refresh token; refresh tokens are single use, so the answer carries the next one.</summary>
    Task<ProviderSignIn> RefreshAsync(string refreshToken, CancellationToken cancellationToken);

    /// <summary>Where to send the browser to start signing in (AuthKit's authorize URL, with state and the PKCE challenge).</summary>
    Uri GetAuthorizationUrl(string state, string codeChallenge);

    /// <summary>Ends the session at the provider: its refresh tokens stop working.</summary>
    Task RevokeSessionAsync(string sessionId, CancellationToken cancellationToken);

    /// <summary>Where to send the browser to end the provider's session (null: nowhere, there is no provider session).</summary>
    Uri? GetLogoutUrl(string sessionId, string? returnTo);
}

/// <summary>The key that signs demo tokens. It outlives a restart, so sessions do too.</summary>
public interface ISigningKeyStore
{
    Task<SecurityKey> GetSigningKeyAsync(CancellationToken cancellationToken);
}
