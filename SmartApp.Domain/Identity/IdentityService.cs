using System.Net.Mail;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.IdentityModel.JsonWebTokens;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Telemetry;

namespace SmartApp.Domain.Identity;

/// <summary>Sign-in and the signed-in user's profile.</summary>
public sealed partial class IdentityService(
    IUserRepository users,
    DemoTokenService demoTokens,
    IAccessTokenValidator tokens,
    SessionRevocations revocations,
    AllowedOrigins origins,
    Microsoft.Extensions.Options.IOptions<AuthOptions> options,
    IIdentityProvider provider)
{
    public const string DefaultDemoEmail = "demo@smartapp.local";
    public const string DefaultDemoName = "Demo User";
    private const int MaxEmailLength = 254;
    private const int MaxNameLength = 100;

    /// <summary>Signs in a local demo user (created on first use) and issues an access token for them.</summary>
    /// <summary>
    /// A demo sign-in; with <paramref name="organizationId"/>, as a member of that organization with <paramref name="role"/>
    /// (<c>member</c> unless given) and any <paramref name="permissions"/> beyond the role's, as a WorkOS token would say.
    /// </summary>
    public async Task<SignInResult> SignInDemoAsync(string? email, string? name, CancellationToken cancellationToken,
        string? organizationId = null, string? role = null, IReadOnlyList<string>? permissions = null)
    {
        var errors = new Dictionary<string, string[]>();
        email = string.IsNullOrWhiteSpace(email) ? DefaultDemoEmail : email.Trim();
        if (email.Length > MaxEmailLength || !MailAddress.TryCreate(email, out var address) || address.Address != email)
            errors["email"] = ["Must be a single email address of at most 254 characters."];
        name = string.IsNullOrWhiteSpace(name) ? DefaultDemoName : name.Trim();
        if (name.Length > MaxNameLength || name.Any(char.IsControl))
            errors["name"] = ["Must be at most 100 characters, without control characters."];
        DemoMembership? membership = null;
        if (organizationId is null)
        {
            if (role is not null) errors["role"] = ["A role is held in an organization: give 'organizationId' too."];
            if (permissions is not null) errors["permissions"] = ["Permissions are held in an organization: give 'organizationId' too."];
        }
        else
        {
            if (!SpaceAccess.IsOrganizationId(organizationId)) errors["organizationId"] = ["Must be an organization id: 'org_' and 1 to 60 letters or digits."];
            role ??= "member";
            if (!OrganizationOptions.RoleSlug().IsMatch(role)) errors["role"] = ["Must be a role slug: lower-case letters, digits, '-' and '_', at most 50."];
            if (permissions is { Count: > MaxDemoPermissions }) errors["permissions"] = [$"At most {MaxDemoPermissions} permissions."];
            else if (permissions?.FirstOrDefault(p => p is null || !OrganizationOptions.PermissionName().IsMatch(p)) is { } bad)
                errors["permissions"] = [$"'{bad}' is not a permission: 'resource:action', e.g. 'files:write'."];
            membership = new DemoMembership(organizationId, role, permissions ?? []);
        }
        if (errors.Count > 0) throw new ValidationFailedException(errors);

        var user = await users.UpsertFromSignInAsync(new UserSignIn(DemoUserId(email), email, name, "demo"), cancellationToken).ConfigureAwait(false);
        var token = await demoTokens.IssueAsync(user, cancellationToken, membership).ConfigureAwait(false);
        SmartAppTelemetry.SignIns.Add(1, new("provider", "demo"), new("grant", "demo"));
        return new SignInResult(token.AccessToken, "Bearer", token.ExpiresAt, user);
    }

    private const int MaxDemoPermissions = 50;

    /// <summary>
    /// The mobile flow: exchanges an authorization code (with its PKCE verifier) or a refresh token
    /// at the provider, brings the user record up to date, and returns the provider's tokens.
    /// </summary>
    public async Task<SignInResult> ExchangeAsync(TokenExchange exchange, CancellationToken cancellationToken)
    {
        if (!HasProvider) throw NoIdentityProvider.NoTokenExchange();
        var (code, codeVerifier, refreshToken, pendingToken, organizationId) = exchange;
        var errors = new Dictionary<string, string[]>();
        var hasCode = !string.IsNullOrWhiteSpace(code);
        var hasRefresh = !string.IsNullOrWhiteSpace(refreshToken);
        var hasPending = !string.IsNullOrWhiteSpace(pendingToken);
        var hasOrganization = !string.IsNullOrWhiteSpace(organizationId);
        if (hasPending)
        {
            // A pending sign-in goes on with the emailed code or the chosen organization, one of them.
            if (hasCode == hasOrganization || hasRefresh || codeVerifier is not null)
                errors["body"] = ["With 'pendingAuthenticationToken' send either 'code' (the emailed verification code) or 'organizationId'."];
            if (pendingToken!.Length > 1024) errors["pendingAuthenticationToken"] = ["Must be at most 1024 characters."];
            if (hasOrganization && organizationId!.Length > 256) errors["organizationId"] = ["Must be at most 256 characters."];
        }
        else if (hasCode == hasRefresh || hasOrganization)
        {
            errors["body"] = ["Send either { code, codeVerifier }, { refreshToken }, or { pendingAuthenticationToken, code | organizationId }."];
        }
        if (hasCode && code!.Length > 1024) errors["code"] = ["Must be at most 1024 characters."];
        if (codeVerifier is not null && !PkceVerifier().IsMatch(codeVerifier))
            errors["codeVerifier"] = ["Must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' or '~' (RFC 7636)."];
        if (hasRefresh && refreshToken!.Length > 4096) errors["refreshToken"] = ["Must be at most 4096 characters."];
        if (errors.Count > 0) throw new ValidationFailedException(errors);

        var signIn = hasPending
            ? await provider.AuthenticatePendingAsync(pendingToken!, hasCode ? code : null, hasOrganization ? organizationId : null, cancellationToken).ConfigureAwait(false)
            : hasCode
                ? await provider.AuthenticateWithCodeAsync(code!, codeVerifier, cancellationToken).ConfigureAwait(false)
                : await provider.RefreshAsync(refreshToken!, cancellationToken).ConfigureAwait(false);
        var user = await users.UpsertFromSignInAsync(signIn.User, cancellationToken).ConfigureAwait(false);
        SmartAppTelemetry.SignIns.Add(1, new("provider", signIn.User.Provider), new("grant", hasPending ? "pending" : hasCode ? "code" : "refresh"));
        var expiresAt = new DateTimeOffset(new JsonWebToken(signIn.AccessToken).ValidTo, TimeSpan.Zero);
        return new SignInResult(signIn.AccessToken, "Bearer", expiresAt, user, signIn.RefreshToken);
    }

    /// <summary>
    /// The caller a bearer token proves: the token verifies, its session was not signed out, and
    /// the account still exists. Anything else is a 401.
    /// </summary>
    public async Task<CurrentUser> AuthenticateAsync(string token, CancellationToken cancellationToken)
    {
        var caller = await tokens.ValidateAsync(token, cancellationToken).ConfigureAwait(false)
            ?? throw new UnauthorizedException("The bearer token is invalid or expired.");
        if (caller.SessionId is { } session && revocations.IsRevoked(session))
            throw new UnauthorizedException("This session was signed out.");
        var user = await users.FindAsync(caller.UserId, cancellationToken).ConfigureAwait(false)
            ?? throw new UnauthorizedException("The account no longer exists.");
        return caller with { Email = user.Email, Name = user.Name, IsAdmin = options.Value.IsAdmin(user.Email) };
    }

    /// <summary>
    /// AuthKit's callback: the <paramref name="state"/> it returns must be the one kept since the sign-in started (compared
    /// in constant time), and its code is exchanged with the PKCE verifier kept beside it.
    /// </summary>
    public async Task<SignInResult> CompleteWebSignInAsync(string keptState, string codeVerifier, string state, string? code, CancellationToken cancellationToken)
    {
        if (!System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(state), System.Text.Encoding.UTF8.GetBytes(keptState)))
            throw new ValidationFailedException("state", "The sign-in state does not match; start again.");
        if (string.IsNullOrEmpty(code)) throw new ValidationFailedException("code", "The callback carries no code.");
        return await ExchangeAsync(new TokenExchange(code, codeVerifier, null), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Starts the web flow: where to send the browser, and what to keep (signed) until the callback.</summary>
    public WebSignIn BeginWebSignIn(string? returnTo)
    {
        if (!HasProvider) throw new NotFoundException("Web sign-in is available with WorkOS sign-in only.");
        if (returnTo is not null && !IsAllowedReturn(returnTo))
            throw new ValidationFailedException("returnTo", "Must be a path on this app or a URL on one of its allowed origins.");
        var state = Base64Url(RandomNumberGenerator.GetBytes(32));
        var verifier = Base64Url(RandomNumberGenerator.GetBytes(32));
        var challenge = Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        return new WebSignIn(provider.GetAuthorizationUrl(state, challenge), state, verifier, returnTo);
    }

    /// <summary>Signs the caller's session out here and at the provider; answers where to send the browser next.</summary>
    public async Task<Uri?> SignOutAsync(CurrentUser caller, string? returnTo, CancellationToken cancellationToken)
    {
        if (returnTo is not null && !IsAllowedReturn(returnTo))
            throw new ValidationFailedException("returnTo", "Must be a path on this app or a URL on one of its allowed origins.");
        if (caller.SessionId is not { } session) return null;
        revocations.Revoke(session, caller.ExpiresAt);
        await provider.RevokeSessionAsync(session, cancellationToken).ConfigureAwait(false);
        return provider.GetLogoutUrl(session, returnTo);
    }

    /// <summary>Whether a sign-in provider is configured: the flows only it serves are refused before anything is read without one.</summary>
    private bool HasProvider => NoIdentityProvider.IsReal(provider);

    public bool IsAllowedReturn(string returnTo) => origins.IsAllowedReturn(returnTo);

    public bool IsAllowedOrigin(string origin) => origins.IsAllowedOrigin(origin);

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public async Task<User> GetUserAsync(CurrentUser caller, CancellationToken cancellationToken) =>
        await users.FindAsync(caller.UserId, cancellationToken).ConfigureAwait(false)
        ?? throw new NotFoundException("The signed-in user no longer exists.");

    /// <summary>The same email always signs in as the same demo user.</summary>
    internal static string DemoUserId(string email) =>
        "demo_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(email.ToLowerInvariant())))[..24];

    [GeneratedRegex("^[A-Za-z0-9._~-]{43,128}$")]
    private static partial Regex PkceVerifier();
}
