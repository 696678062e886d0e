using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Identity;
using SmartApp.Functions.Http;

namespace SmartApp.Functions.Identity;

/// <summary>Sign-in and the signed-in user (API.md "Identity").</summary>
public sealed class IdentityFunctions(IdentityService identity, IOptions<AuthOptions> auth)
{
    /// <summary>Demo mode only: tokens for a local demo user.</summary>
    [Function("AuthDemo"), AllowAnonymous]
    public async Task<IActionResult> SignInDemo([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "auth/demo")] HttpRequest req)
    {
        if (auth.Value.Mode != AuthMode.Demo) throw new NotFoundException("Demo sign-in is not enabled.");
        var body = await req.ReadJsonAsync(whenEmpty: new DemoSignInRequest(null, null)).ConfigureAwait(false);
        var result = await identity.SignInDemoAsync(body.Email, body.Name, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new TokenResponse(result.AccessToken, result.TokenType, result.ExpiresAt, UserResponse.From(result.User)));
    }

    /// <summary>Mobile sign-in (WorkOS mode): <c>{ code, codeVerifier }</c> or <c>{ refreshToken }</c> -> tokens. Refresh tokens are single use.</summary>
    [Function("AuthToken"), AllowAnonymous]
    public async Task<IActionResult> Token([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "auth/token")] HttpRequest req)
    {
        var body = await req.ReadJsonAsync<TokenRequest>().ConfigureAwait(false);
        var result = await identity.ExchangeAsync(body.Code, body.CodeVerifier, body.RefreshToken, req.HttpContext.RequestAborted).ConfigureAwait(false);
        req.HttpContext.Response.Headers.CacheControl = "no-store";
        return new OkObjectResult(new TokenResponse(result.AccessToken, result.TokenType, result.ExpiresAt, UserResponse.From(result.User), result.RefreshToken));
    }

    [Function("Me")]
    public async Task<IActionResult> Me([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "me")] HttpRequest req)
    {
        var user = await identity.GetUserAsync(req.CurrentUser(), req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(MeResponse.From(user));
    }

    public sealed record DemoSignInRequest(string? Email, string? Name);

    public sealed record TokenRequest(string? Code, string? CodeVerifier, string? RefreshToken);

    public sealed record TokenResponse(string AccessToken, string TokenType, DateTimeOffset ExpiresAt, UserResponse User, string? RefreshToken = null);

    public sealed record UserResponse(string Id, string Email, string? Name, string Plan, DateTimeOffset CreatedAt)
    {
        public static UserResponse From(User user) => new(user.Id, user.Email, user.Name, user.Plan, user.CreatedAt);
    }

    /// <summary><c>usage</c> is filled by billing's counters once they exist; until then it is empty.</summary>
    public sealed record MeResponse(string Id, string Email, string? Name, string Plan, IReadOnlyDictionary<string, long> Usage, DateTimeOffset CreatedAt)
    {
        public static MeResponse From(User user) => new(user.Id, user.Email, user.Name, user.Plan, new Dictionary<string, long>(), user.CreatedAt);
    }
}
