using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Billing;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Identity;
using SmartApp.Functions.Http;

namespace SmartApp.Functions.Identity;

/// <summary>Sign-in and the signed-in user (the OpenAPI document's "Identity" tag).</summary>
public sealed class IdentityFunctions(IdentityService identity, AccountService account, AuthCookies cookies, IOptions<AuthOptions> auth, BillingService billing,
    OrganizationAccess organizations)
{
    /// <summary>Demo mode only: tokens for a local demo user.</summary>
    [Function("AuthDemo"), AllowAnonymous]
    public async Task<IActionResult> SignInDemo([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "auth/demo")] HttpRequest req)
    {
        if (auth.Value.Mode != AuthMode.Demo) throw new NotFoundException("Demo sign-in is not enabled.");
        var body = await req.ReadJsonAsync(whenEmpty: new DemoSignInRequest(null, null, null, null, null)).ConfigureAwait(false);
        var result = await identity.SignInDemoAsync(body.Email, body.Name, req.HttpContext.RequestAborted, body.OrganizationId, body.Role, body.Permissions).ConfigureAwait(false);
        return new OkObjectResult(new TokenResponse(result.AccessToken, result.TokenType, result.ExpiresAt, UserResponse.From(result.User)));
    }

    /// <summary>
    /// Mobile sign-in (WorkOS mode): <c>{ code, codeVerifier }</c> or <c>{ refreshToken }</c> -> tokens (refresh tokens are single use);
    /// a sign-in AuthKit left pending (403 with its <c>pendingAuthenticationToken</c>) goes on with <c>{ pendingAuthenticationToken, code }</c>
    /// (email verification) or <c>{ pendingAuthenticationToken, organizationId }</c> (organization selection).
    /// </summary>
    [Function("AuthToken"), AllowAnonymous]
    public async Task<IActionResult> Token([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "auth/token")] HttpRequest req)
    {
        var body = await req.ReadJsonAsync<TokenRequest>().ConfigureAwait(false);
        var result = await identity.ExchangeAsync(new TokenExchange(body.Code, body.CodeVerifier, body.RefreshToken, body.PendingAuthenticationToken, body.OrganizationId), req.HttpContext.RequestAborted).ConfigureAwait(false);
        req.HttpContext.Response.Headers.CacheControl = "no-store";
        return new OkObjectResult(new TokenResponse(result.AccessToken, result.TokenType, result.ExpiresAt, UserResponse.From(result.User), result.RefreshToken));
    }

    /// <summary>Web sign-in: to AuthKit, with state and a PKCE challenge; both kept in a signed, short-lived cookie.</summary>
    [Function("AuthLogin"), AllowAnonymous]
    public IActionResult Login([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "auth/login")] HttpRequest req)
    {
        var signIn = identity.BeginWebSignIn(NullIfEmpty(req.Query["returnTo"]));
        cookies.WriteSignIn(req.HttpContext.Response, signIn);
        req.HttpContext.Response.Headers.CacheControl = "no-store";
        return new RedirectResult(signIn.AuthorizationUrl.ToString());
    }

    /// <summary>
    /// AuthKit's callback: the state must match the sign-in cookie, the code is exchanged with its
    /// verifier; then a redirect to <c>returnTo</c> with the session cookie, or the tokens as JSON.
    /// </summary>
    [Function("AuthCallback"), AllowAnonymous]
    public async Task<IActionResult> Callback([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "auth/callback")] HttpRequest req)
    {
        var response = req.HttpContext.Response;
        response.Headers.CacheControl = "no-store";
        var pending = cookies.ReadSignIn(req) ?? throw new ValidationFailedException("state", "The sign-in has expired or was not started here; start again.");
        AuthCookies.Clear(response, AuthCookies.SignInCookie);
        var result = await identity.CompleteWebSignInAsync(pending.State, pending.CodeVerifier, req.Query["state"].ToString(), NullIfEmpty(req.Query["code"]),
            req.HttpContext.RequestAborted).ConfigureAwait(false);
        if (pending.ReturnTo is null)
            return new OkObjectResult(new TokenResponse(result.AccessToken, result.TokenType, result.ExpiresAt, UserResponse.From(result.User), result.RefreshToken));
        cookies.WriteSession(response, result.AccessToken, result.RefreshToken!);
        return new RedirectResult(pending.ReturnTo);
    }

    /// <summary>Signs the session out here and at WorkOS; answers where to send the browser.</summary>
    [Function("AuthLogout")]
    public async Task<IActionResult> Logout([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "auth/logout")] HttpRequest req)
    {
        var body = await req.ReadJsonAsync(whenEmpty: new LogoutRequest(null)).ConfigureAwait(false);
        var logoutUrl = await identity.SignOutAsync(req.CurrentUser(), body.ReturnTo, req.HttpContext.RequestAborted).ConfigureAwait(false);
        AuthCookies.Clear(req.HttpContext.Response, AuthCookies.SessionCookie);
        return new OkObjectResult(new LogoutResponse(logoutUrl?.ToString() ?? body.ReturnTo));
    }

    /// <summary>Everything the user owns (or with <c>space=org</c>, the organization's space), as one JSON document, streamed as it is read.</summary>
    [Function("MeExport")]
    public async Task Export([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "me/export")] HttpRequest req)
    {
        var response = req.HttpContext.Response;
        response.ContentType = "application/json";
        response.Headers.CacheControl = "no-store";
        response.Headers.ContentDisposition = "attachment; filename=\"smartapp-export.json\"";
        await account.ExportAsync(req.CurrentUser(), req.Query[SpaceAccess.Parameter], response.Body, req.HttpContext.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Deletes everything the user owns: 202 with where to follow it; their tokens stop working when it runs.</summary>
    [Function("MeDelete")]
    public async Task<IActionResult> Delete([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "me")] HttpRequest req)
    {
        var deletion = await account.RequestDeletionAsync(req.CurrentUser(), req.HttpContext.RequestAborted).ConfigureAwait(false);
        var location = $"/api/me/deletions/{deletion.Id}";
        return new AcceptedResult(location, DeletionResponse.From(deletion));
    }

    /// <summary>How an account deletion is going. Anonymous (the account may be gone); the id is unguessable.</summary>
    [Function("MeDeletionStatus"), AllowAnonymous]
    public async Task<IActionResult> DeletionStatus(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "me/deletions/{deletionId}")] HttpRequest req, string deletionId)
    {
        var deletion = await account.GetDeletionAsync(deletionId, req.HttpContext.RequestAborted).ConfigureAwait(false);
        req.HttpContext.Response.Headers.CacheControl = "no-store";
        return new OkObjectResult(DeletionResponse.From(deletion));
    }

    [Function("Me")]
    public async Task<IActionResult> Me([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "me")] HttpRequest req)
    {
        var user = await identity.GetUserAsync(req.CurrentUser(), req.HttpContext.RequestAborted).ConfigureAwait(false);
        var today = await billing.UsageTodayAsync(user.Id, req.HttpContext.RequestAborted).ConfigureAwait(false);
        var usage = new Dictionary<string, long>
        {
            ["messagesToday"] = today.Messages, ["promptTokensToday"] = today.PromptTokens, ["completionTokensToday"] = today.CompletionTokens,
        };
        return new OkObjectResult(MeResponse.From(user, usage, req.CurrentUser(), organizations.PermissionsOf(req.CurrentUser())));
    }

    private static string? NullIfEmpty(Microsoft.Extensions.Primitives.StringValues value) => string.IsNullOrEmpty(value) ? null : value.ToString();

    /// <summary>With <c>organizationId</c>, a member of that organization with <c>role</c> (default <c>member</c>) and <c>permissions</c> beyond the role's.</summary>
    public sealed record DemoSignInRequest(string? Email, string? Name, string? OrganizationId, string? Role, IReadOnlyList<string>? Permissions);

    public sealed record LogoutRequest(string? ReturnTo);

    public sealed record DeletionResponse(string Id, AccountDeletionStatus Status, DateTimeOffset RequestedAt, DateTimeOffset? CompletedAt, IReadOnlyDictionary<string, int>? Deleted, string? Error)
    {
        public static DeletionResponse From(AccountDeletion d) => new(d.Id, d.Status, d.RequestedAt, d.CompletedAt, d.Deleted, d.Error);
    }

    public sealed record TokenRequest(string? Code, string? CodeVerifier, string? RefreshToken, string? PendingAuthenticationToken, string? OrganizationId);

    public sealed record TokenResponse(string AccessToken, string TokenType, DateTimeOffset ExpiresAt, UserResponse User, string? RefreshToken = null);

    public sealed record UserResponse(string Id, string Email, string? Name, string Plan, DateTimeOffset CreatedAt)
    {
        public static UserResponse From(User user) => new(user.Id, user.Email, user.Name, user.Plan, user.CreatedAt);
    }

    /// <summary><c>usage</c>: today's chat messages and tokens (UTC day).</summary>
    public sealed record MeResponse(string Id, string Email, string? Name, string Plan, IReadOnlyDictionary<string, long> Usage, DateTimeOffset CreatedAt, DateTimeOffset? LastSignInAt,
        SessionResponse Session)
    {
        public static MeResponse From(User user, IReadOnlyDictionary<string, long> usage, CurrentUser caller, IReadOnlyList<string> granted) =>
            new(user.Id, user.Email, user.Name, user.Plan, usage, user.CreatedAt, user.LastSignInAt,
                new SessionResponse(caller.SessionId, caller.OrganizationId, caller.Role, caller.Roles, caller.Permissions, caller.Impersonator) { Granted = granted });
    }

    /// <summary>What the token says about this sign-in: its session, organization, role and permissions there, and who impersonates the user.</summary>
    public sealed record SessionResponse(string? Id, string? OrganizationId, string? Role, IReadOnlyList<string> Roles, IReadOnlyList<string> Permissions, string? Impersonator)
    {
        /// <summary>What the member may do in the organization beyond reading: the token's permissions and those its roles grant (Organizations:RolePermissions).</summary>
        public IReadOnlyList<string> Granted { get; init; } = [];
    }

    public sealed record LogoutResponse(string? LogoutUrl);
}
