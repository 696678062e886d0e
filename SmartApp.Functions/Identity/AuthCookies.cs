using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common;
using SmartApp.Domain.Identity;

namespace SmartApp.Functions.Identity;

/// <summary>
/// The web flow's two cookies, both HttpOnly, Secure, SameSite=Lax and encrypted: the short-lived
/// sign-in cookie (state, PKCE verifier, where to return) and the session cookie (the user's tokens).
/// </summary>
public sealed class AuthCookies(IDataProtectionProvider protection, IOptions<AuthOptions> options, TimeProvider clock)
{
    public const string SignInCookie = "__Host-smartapp-signin";
    public const string SessionCookie = "__Host-smartapp-session";

    private readonly ITimeLimitedDataProtector _signIn = protection.CreateProtector("SmartApp.SignIn.v1").ToTimeLimitedDataProtector();
    private readonly IDataProtector _session = protection.CreateProtector("SmartApp.Session.v1");

    public sealed record SignInState(string State, string CodeVerifier, string? ReturnTo);

    public sealed record SessionTokens(string AccessToken, string RefreshToken);

    public void WriteSignIn(HttpResponse response, WebSignIn signIn)
    {
        var payload = JsonSerializer.Serialize(new SignInState(signIn.State, signIn.CodeVerifier, signIn.ReturnTo), JsonDefaults.Options);
        response.Cookies.Append(SignInCookie, _signIn.Protect(payload, clock.GetUtcNow() + options.Value.SignInTimeout),
            Options(options.Value.SignInTimeout));
    }

    /// <summary>The sign-in under way, or null when the cookie is missing, tampered with or expired.</summary>
    public SignInState? ReadSignIn(HttpRequest request) => Read<SignInState>(request, SignInCookie, p => _signIn.Unprotect(p));

    public void WriteSession(HttpResponse response, string accessToken, string refreshToken) =>
        response.Cookies.Append(SessionCookie, _session.Protect(JsonSerializer.Serialize(new SessionTokens(accessToken, refreshToken), JsonDefaults.Options)),
            Options(TimeSpan.FromDays(30)));

    public SessionTokens? ReadSession(HttpRequest request) => Read<SessionTokens>(request, SessionCookie, _session.Unprotect);

    public static void Clear(HttpResponse response, string name) => response.Cookies.Delete(name, Options(TimeSpan.Zero));

    private static T? Read<T>(HttpRequest request, string name, Func<string, string> unprotect) where T : class
    {
        if (!request.Cookies.TryGetValue(name, out var value) || string.IsNullOrEmpty(value) || value.Length > 8192) return null;
        try
        {
            return JsonSerializer.Deserialize<T>(unprotect(value), JsonDefaults.Options);
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or JsonException or FormatException)
        {
            return null;
        }
    }

    private static CookieOptions Options(TimeSpan lifetime) => new()
    {
        HttpOnly = true,
        Secure = true,
        SameSite = SameSiteMode.Lax,
        Path = "/",
        MaxAge = lifetime,
        IsEssential = true,
    };
}
