using SmartApp.Domain.Common.Errors;

namespace SmartApp.Domain.Identity;

/// <summary>
/// The identity provider in demo mode, where there is none: the flows only WorkOS serves are not found, there are no
/// user events to sync, and signing out ends the session here only.
/// </summary>
public sealed class NoIdentityProvider : IIdentityProvider
{
    public Task<ProviderSignIn> AuthenticateWithCodeAsync(string code, string? codeVerifier, CancellationToken cancellationToken) => throw NoTokenExchange();

    public Task<ProviderSignIn> AuthenticatePendingAsync(string pendingToken, string? emailCode, string? organizationId, CancellationToken cancellationToken) => throw NoTokenExchange();

    public Task<ProviderSignIn> RefreshAsync(string refreshToken, CancellationToken cancellationToken) => throw NoTokenExchange();

    public Task<(IReadOnlyList<IdentityEvent> Events, string? Cursor)> ListEventsAsync(string? after, CancellationToken cancellationToken) =>
        Task.FromResult<(IReadOnlyList<IdentityEvent>, string?)>(([], after));

    public Uri GetAuthorizationUrl(string state, string codeChallenge) => throw new NotFoundException("Web sign-in is available with WorkOS sign-in only.");

    public Task RevokeSessionAsync(string sessionId, CancellationToken cancellationToken) => Task.CompletedTask;

    public Uri? GetLogoutUrl(string sessionId, string? returnTo) => null;

    /// <summary>Whether <paramref name="provider"/> is a real one: the flows and jobs only it serves skip their work (and their reads) without one.</summary>
    public static bool IsReal(IIdentityProvider provider) => provider is not NoIdentityProvider;

    internal static NotFoundException NoTokenExchange() => new("Token exchange is available with WorkOS sign-in only.");
}
