using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Identity;

namespace SmartApp.Functions.Http;

/// <summary>
/// Bearer token -> the current user, for every HTTP function not marked <see cref="AllowAnonymousAttribute"/>.
/// The user id a function sees comes only from here.
/// </summary>
internal sealed class AuthenticationMiddleware(IAccessTokenValidator tokens) : IFunctionsWorkerMiddleware
{
    private const int MaxTokenLength = 8 * 1024;
    private static readonly ConcurrentDictionary<string, Access> AccessByEntryPoint = new();

    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        var access = AccessByEntryPoint.GetOrAdd(context.FunctionDefinition.EntryPoint, AccessOf);
        if (access != Access.Anonymous)
        {
            var http = context.GetHttpContext()!;
            var user = await AuthenticateAsync(http.Request, context.CancellationToken).ConfigureAwait(false);
            if (access == Access.Admin && !user.IsAdmin) throw new ForbiddenException("This route is for administrators.");
            http.Items[typeof(CurrentUser)] = user;
        }
        await next(context).ConfigureAwait(false);
    }

    private async Task<CurrentUser> AuthenticateAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.Length == 0) throw new UnauthorizedException("A bearer token is required: send 'Authorization: Bearer <token>'.");
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) throw new UnauthorizedException("Only bearer tokens are accepted.");
        var token = header["Bearer ".Length..].Trim();
        if (token.Length is 0 or > MaxTokenLength) throw new UnauthorizedException("The bearer token is invalid or expired.");
        return await tokens.ValidateAsync(token, cancellationToken).ConfigureAwait(false)
            ?? throw new UnauthorizedException("The bearer token is invalid or expired.");
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
}
