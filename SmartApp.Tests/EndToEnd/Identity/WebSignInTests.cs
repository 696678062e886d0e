using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;

namespace SmartApp.Tests.EndToEnd;

/// <summary>The browser flow: login redirect, AuthKit, callback, session cookie, logout — as a browser would do it.</summary>
[Collection(WorkOSDevHostCollection.Name)]
public sealed class WebSignInTests(WorkOSDevHostFixture app) : IDisposable
{
    // A "browser": no automatic redirects, cookies kept by hand (they are Secure, which HttpClient would not send over http).
    private readonly HttpClient _browser = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { Timeout = TimeSpan.FromSeconds(60) };

    public void Dispose() => _browser.Dispose();

    private static FakeWorkOSUser NewUser() => new("user_" + Guid.NewGuid().ToString("N")[..20], $"web-{Guid.NewGuid():N}@e2e.test", "Ada", "Lovelace");

    private static string? CookieFrom(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues("Set-Cookie", out var values)
            ? values.Where(v => v.StartsWith(name + "=", StringComparison.Ordinal)).Select(v => v.Split(';')[0][(name.Length + 1)..]).LastOrDefault()
            : null;

    private static string SetCookieHeader(HttpResponseMessage response, string name) =>
        response.Headers.GetValues("Set-Cookie").Single(v => v.StartsWith(name + "=", StringComparison.Ordinal));

    private async Task<HttpResponseMessage> GetAsync(string url, string? cookie = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (cookie is not null) request.Headers.Add("Cookie", cookie);
        return await _browser.SendAsync(request);
    }

    /// <summary>Login through AuthKit back to the callback; answers the callback URL and the sign-in cookie.</summary>
    private async Task<(string CallbackUrl, string SignInCookie)> StartSignInAsync(FakeWorkOSUser user, string returnTo)
    {
        app.WorkOS.NextBrowserUser = user;
        using var login = await GetAsync($"{app.Origin}/api/auth/login?returnTo={Uri.EscapeDataString(returnTo)}");
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        var authorize = login.Headers.Location!;
        Assert.StartsWith($"{app.WorkOS.BaseUrl}/user_management/authorize?", authorize.ToString());
        var query = QueryHelpers.ParseQuery(authorize.Query);
        Assert.Equal("S256", query["code_challenge_method"]);
        Assert.Equal(FakeWorkOS.ClientId, query["client_id"]);
        Assert.Equal("authkit", query["provider"]);
        Assert.True(query["state"].ToString().Length >= 43);

        var setCookie = SetCookieHeader(login, "__Host-smartapp-signin").ToLowerInvariant();
        Assert.Contains("httponly", setCookie);
        Assert.Contains("secure", setCookie);
        Assert.Contains("samesite=lax", setCookie);

        using var authKit = await GetAsync(authorize.ToString());
        Assert.Equal(HttpStatusCode.Redirect, authKit.StatusCode);
        return (authKit.Headers.Location!.ToString(), "__Host-smartapp-signin=" + CookieFrom(login, "__Host-smartapp-signin"));
    }

    [Fact]
    public async Task The_web_flow_signs_in_with_a_session_cookie_and_logout_ends_it()
    {
        var user = NewUser();
        var (callback, signInCookie) = await StartSignInAsync(user, "/welcome");

        using var done = await GetAsync(callback, signInCookie);
        Assert.Equal(HttpStatusCode.Redirect, done.StatusCode);
        Assert.Equal("/welcome", done.Headers.Location!.ToString());
        var sessionSetCookie = SetCookieHeader(done, "__Host-smartapp-session").ToLowerInvariant();
        Assert.Contains("httponly", sessionSetCookie);
        Assert.Contains("secure", sessionSetCookie);
        Assert.Contains("samesite=lax", sessionSetCookie);
        var session = "__Host-smartapp-session=" + CookieFrom(done, "__Host-smartapp-session");

        using var me = await GetAsync($"{app.Origin}/api/me", session);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        Assert.Equal(user.Email, (await me.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("email").GetString());

        // A cookie-authenticated change from another site (or with no Origin) is refused.
        using (var crossSite = new HttpRequestMessage(HttpMethod.Post, $"{app.Origin}/api/auth/logout"))
        {
            crossSite.Headers.Add("Cookie", session);
            crossSite.Headers.Add("Origin", "https://evil.example");
            using var refused = await _browser.SendAsync(crossSite);
            await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Forbidden, "forbidden");
        }

        using var logoutRequest = new HttpRequestMessage(HttpMethod.Post, $"{app.Origin}/api/auth/logout");
        logoutRequest.Headers.Add("Cookie", session);
        logoutRequest.Headers.Add("Origin", app.Origin);
        using var logout = await _browser.SendAsync(logoutRequest);
        Assert.Equal(HttpStatusCode.OK, logout.StatusCode);
        var logoutUrl = (await logout.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("logoutUrl").GetString()!;
        Assert.StartsWith($"{app.WorkOS.BaseUrl}/user_management/sessions/logout?session_id=session_", logoutUrl);
        Assert.True(app.WorkOS.IsRevoked(QueryHelpers.ParseQuery(new Uri(logoutUrl).Query)["session_id"]!));

        // The old cookie no longer signs anyone in: its token's session is revoked here, its refresh token at WorkOS.
        using var after = await GetAsync($"{app.Origin}/api/me", session);
        await ProblemAssert.IsProblemAsync(after, HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task Without_return_to_the_callback_answers_tokens_as_json()
    {
        app.WorkOS.NextBrowserUser = NewUser();
        using var login = await GetAsync($"{app.Origin}/api/auth/login");
        using var authKit = await GetAsync(login.Headers.Location!.ToString());
        using var done = await GetAsync(authKit.Headers.Location!.ToString(), "__Host-smartapp-signin=" + CookieFrom(login, "__Host-smartapp-signin"));
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        var tokens = await done.Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(string.IsNullOrEmpty(tokens.GetProperty("accessToken").GetString()));
        Assert.False(string.IsNullOrEmpty(tokens.GetProperty("refreshToken").GetString()));
    }

    [Fact]
    public async Task Tampered_state_a_missing_or_forged_cookie_and_a_replayed_code_are_refused()
    {
        var (callback, signInCookie) = await StartSignInAsync(NewUser(), "/welcome");
        var query = QueryHelpers.ParseQuery(new Uri(callback).Query);
        var tampered = $"{app.Origin}/api/auth/callback?code={query["code"]}&state={query["state"]}x";

        using (var wrongState = await GetAsync(tampered, signInCookie))
            await ProblemAssert.IsProblemAsync(wrongState, HttpStatusCode.BadRequest, "validation");
        using (var noCookie = await GetAsync(callback))
            await ProblemAssert.IsProblemAsync(noCookie, HttpStatusCode.BadRequest, "validation");
        using (var forged = await GetAsync(callback, signInCookie[..^4] + "AAAA"))
            await ProblemAssert.IsProblemAsync(forged, HttpStatusCode.BadRequest, "validation");

        using (var first = await GetAsync(callback, signInCookie))
            Assert.Equal(HttpStatusCode.Redirect, first.StatusCode);
        using var replay = await GetAsync(callback, signInCookie);
        await ProblemAssert.IsProblemAsync(replay, HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Theory]
    [InlineData("https://evil.example/phish")]
    [InlineData("//evil.example/phish")]
    [InlineData("javascript:alert(1)")]
    public async Task A_return_to_outside_the_allowed_origins_is_refused(string returnTo)
    {
        using var login = await GetAsync($"{app.Origin}/api/auth/login?returnTo={Uri.EscapeDataString(returnTo)}");
        var problem = await ProblemAssert.IsProblemAsync(login, HttpStatusCode.BadRequest, "validation");
        Assert.True(problem.GetProperty("errors").TryGetProperty("returnTo", out _));
        Assert.Null(CookieFrom(login, "__Host-smartapp-signin"));
    }

    [Fact]
    public async Task An_allowed_origin_is_a_place_to_return_to()
    {
        var (callback, cookie) = await StartSignInAsync(NewUser(), "https://app.e2e.test/home");
        using var done = await GetAsync(callback, cookie);
        Assert.Equal("https://app.e2e.test/home", done.Headers.Location!.ToString());
    }
}
