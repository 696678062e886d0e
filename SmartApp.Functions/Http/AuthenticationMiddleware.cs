using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Identity;
using SmartApp.Functions.Identity;

namespace SmartApp.Functions.Http;

/// <summary>
/// The current user, for every HTTP function not marked <see cref="AllowAnonymousAttribute"/>: from a
/// bearer token, or from the web session cookie (refreshed when its access token has expired; a
/// request that changes anything must then come from an allowed Origin). The user id a function
/// sees comes only from here.
/// </summary>
internal sealed partial class AuthenticationMiddleware(IServiceProvider services, ILogger<AuthenticationMiddleware> logger) : IFunctionsWorkerMiddleware
{
    // Resolved on first use: anonymous routes (health first of all, on a cold start) never build the sign-in machinery.
    private IdentityService Identity => services.GetRequiredService<IdentityService>();
    private AuthCookies Cookies => services.GetRequiredService<AuthCookies>();

    private const int MaxTokenLength = 8 * 1024;
    private static readonly ConcurrentDictionary<string, Access> AccessByEntryPoint = new();

    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        var access = AccessByEntryPoint.GetOrAdd(context.FunctionDefinition.EntryPoint, AccessOf);
        if (access != Access.Anonymous)
        {
            var http = context.GetHttpContext()!;
            var user = http.Request.Headers.Authorization.Count > 0 || !http.Request.Cookies.ContainsKey(AuthCookies.SessionCookie)
                ? await FromBearerAsync(http.Request, context.CancellationToken).ConfigureAwait(false)
                : await FromSessionAsync(http, context.CancellationToken).ConfigureAwait(false);
            if (access == Access.Admin && !user.IsAdmin) throw new ForbiddenException("This route is for administrators.");
            http.SetSignedInUser(user);
            // Whatever an impersonating admin does is on the record as theirs.
            if (user.Impersonator is { } impersonator) LogImpersonated(logger, impersonator, user.UserId, http.Request.Method, http.Request.Path.Value);
        }
        await next(context).ConfigureAwait(false);
    }

    private async Task<CurrentUser> FromBearerAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.Length == 0) throw new UnauthorizedException("A bearer token is required: send 'Authorization: Bearer <token>'.");
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) throw new UnauthorizedException("Only bearer tokens are accepted.");
        var token = header["Bearer ".Length..].Trim();
        if (token.Length is 0 or > MaxTokenLength) throw new UnauthorizedException("The bearer token is invalid or expired.");
        return await Identity.AuthenticateAsync(token, cancellationToken).ConfigureAwait(false);
    }

    private async Task<CurrentUser> FromSessionAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var request = http.Request;
        // A cookie that is not a session of ours is no credential at all (401); a real one from elsewhere is refused (403).
        var session = Cookies.ReadSession(request) ?? throw new UnauthorizedException("The session has ended; sign in again.");
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method) && !HttpMethods.IsOptions(request.Method)
            && !Identity.IsAllowedOrigin(request.Headers.Origin.ToString()))
            throw new ForbiddenException("Requests that change data with a session cookie must come from an allowed Origin.");
        try
        {
            return await Identity.AuthenticateAsync(session.AccessToken, cancellationToken).ConfigureAwait(false);
        }
        catch (UnauthorizedException)
        {
            // The access token expired (or was refused): the refresh token gets a new pair, once.
            SignInResult refreshed;
            try
            {
                refreshed = await Identity.ExchangeAsync(new TokenExchange(null, null, session.RefreshToken), cancellationToken).ConfigureAwait(false);
            }
            catch (DomainException ex) when (ex is UnauthorizedException or NotFoundException)
            {
                AuthCookies.Clear(http.Response, AuthCookies.SessionCookie);
                throw new UnauthorizedException("The session has ended; sign in again.");
            }
            Cookies.WriteSession(http.Response, refreshed.AccessToken, refreshed.RefreshToken!);
            return await Identity.AuthenticateAsync(refreshed.AccessToken, cancellationToken).ConfigureAwait(false);
        }
    }

    private enum Access { Anonymous, User, Admin }

    // EntryPoint is "Namespace.Type.Method" of a function in this assembly.
    private static Access AccessOf(string entryPoint)
    {
        var split = entryPoint.LastIndexOf('.');
        var method = typeof(AuthenticationMiddleware).Assembly.GetType(entryPoint[..split])?
            .GetMethod(entryPoint[(split + 1)..], BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static);
        if (method?.IsDefined(typeof(AllowAnonymousAttribute)) == true) return Access.Anonymous;
        return method?.IsDefined(typeof(AdminOnlyAttribute)) == true ? Access.Admin : Access.User;
    }

    [LoggerMessage(EventId = 2110, Level = LogLevel.Warning, Message = "{Impersonator} impersonating user {UserId}: {Method} {Path}")]
    private static partial void LogImpersonated(ILogger logger, string impersonator, string userId, string method, string? path);
}
