using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace SmartApp.Tests.EndToEnd;

/// <summary>Sign-in with WorkOS AuthKit, through the real worker, against a fake WorkOS on loopback.</summary>
[Collection(WorkOSDevHostCollection.Name)]
public sealed class WorkOSSignInTests(WorkOSDevHostFixture app)
{
    private static FakeWorkOSUser NewUser() =>
        new("user_" + Guid.NewGuid().ToString("N")[..20], $"grace-{Guid.NewGuid():N}@e2e.test", "Grace", "Hopper");

    private static string NewVerifier() => Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(48));

    private async Task<JsonElement> ExchangeAsync(object body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await app.Client.PostAsJsonAsync("auth/token", body);
        if (expected != HttpStatusCode.OK) return await ProblemAssert.IsProblemAsync(response, expected, expected == HttpStatusCode.Unauthorized ? "unauthorized" : "validation");
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {json}");
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        return json;
    }

    private async Task<HttpResponseMessage> MeAsync(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "me");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        return await app.Client.SendAsync(request);
    }

    [Fact]
    public async Task The_mobile_code_flow_with_pkce_signs_the_user_in()
    {
        var user = NewUser();
        var verifier = NewVerifier();
        var code = app.WorkOS.IssueCode(user, FakeWorkOS.Challenge(verifier));

        var tokens = await ExchangeAsync(new { code, codeVerifier = verifier });
        Assert.Equal(user.Id, tokens.GetProperty("user").GetProperty("id").GetString());
        Assert.Equal("Grace Hopper", tokens.GetProperty("user").GetProperty("name").GetString());
        Assert.StartsWith("refresh_", tokens.GetProperty("refreshToken").GetString());
        Assert.True(tokens.GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow);

        using var me = await MeAsync(tokens.GetProperty("accessToken").GetString()!);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        var profile = await me.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(user.Id, profile.GetProperty("id").GetString());
        Assert.Equal(user.Email, profile.GetProperty("email").GetString());
    }

    [Fact]
    public async Task A_code_works_once_and_only_with_its_verifier()
    {
        var verifier = NewVerifier();
        var code = app.WorkOS.IssueCode(NewUser(), FakeWorkOS.Challenge(verifier));
        await ExchangeAsync(new { code, codeVerifier = NewVerifier() }, HttpStatusCode.Unauthorized);

        var reusable = app.WorkOS.IssueCode(NewUser(), FakeWorkOS.Challenge(verifier));
        await ExchangeAsync(new { code = reusable, codeVerifier = verifier });
        await ExchangeAsync(new { code = reusable, codeVerifier = verifier }, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Refresh_rotates_and_an_old_refresh_token_is_refused()
    {
        var first = await ExchangeAsync(new { code = app.WorkOS.IssueCode(NewUser()) });
        var oldRefresh = first.GetProperty("refreshToken").GetString();

        var second = await ExchangeAsync(new { refreshToken = oldRefresh });
        Assert.NotEqual(oldRefresh, second.GetProperty("refreshToken").GetString());
        Assert.Equal(first.GetProperty("user").GetProperty("id").GetString(), second.GetProperty("user").GetProperty("id").GetString());

        await ExchangeAsync(new { refreshToken = oldRefresh }, HttpStatusCode.Unauthorized);
        await ExchangeAsync(new { refreshToken = second.GetProperty("refreshToken").GetString() });
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"code\":\"c\",\"refreshToken\":\"r\"}")]
    [InlineData("{\"code\":\"c\",\"codeVerifier\":\"short\"}")]
    public async Task A_token_request_without_exactly_one_grant_is_400(string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await app.Client.PostAsync("auth/token", content);
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "validation");
    }

    [Fact]
    public async Task Demo_sign_in_does_not_exist_in_WorkOS_mode()
    {
        using var response = await app.Client.PostAsJsonAsync("auth/demo", new { email = "x@e2e.test" });
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound, "not-found");
    }

    public static TheoryData<string> Attacks() => ["expired", "other key with the same kid", "alg none", "HS256 with the public key as secret", "wrong issuer", "missing sub", "malformed"];

    [Theory]
    [MemberData(nameof(Attacks))]
    public async Task Each_forged_or_broken_token_is_401_and_nothing_else(string attack)
    {
        var signIn = await ExchangeAsync(new { code = app.WorkOS.IssueCode(NewUser()) });
        var sub = signIn.GetProperty("user").GetProperty("id").GetString()!;
        var workOS = app.WorkOS;
        var token = attack switch
        {
            "expired" => workOS.MintAccessToken(sub, expires: DateTime.UtcNow.AddMinutes(-2)),
            "other key with the same kid" => workOS.MintAccessToken(sub, key: new RsaSecurityKey(RSA.Create(2048)) { KeyId = workOS.SigningKey.KeyId }),
            "alg none" => Unsigned(sub, workOS.Issuer),
            "HS256 with the public key as secret" => workOS.MintAccessToken(sub, algorithm: SecurityAlgorithms.HmacSha256,
                key: new SymmetricSecurityKey(Encoding.ASCII.GetBytes(workOS.SigningKey.Rsa.ExportSubjectPublicKeyInfoPem())) { KeyId = workOS.SigningKey.KeyId }),
            "wrong issuer" => workOS.MintAccessToken(sub, issuer: "https://evil.example/user_management/" + FakeWorkOS.ClientId),
            "missing sub" => workOS.MintAccessToken(null),
            _ => "not.a-jwt",
        };
        using var response = await MeAsync(token);
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized, "unauthorized");

        // The control: a well-formed token for the same user from the same key is accepted.
        using var accepted = await MeAsync(workOS.MintAccessToken(sub));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
    }

    [Fact]
    public async Task A_new_signing_key_is_fetched_once_when_a_token_names_it()
    {
        var signIn = await ExchangeAsync(new { code = app.WorkOS.IssueCode(NewUser()) });
        var sub = signIn.GetProperty("user").GetProperty("id").GetString()!;
        using (var before = await MeAsync(app.WorkOS.MintAccessToken(sub))) Assert.Equal(HttpStatusCode.OK, before.StatusCode);

        var fetches = app.WorkOS.JwksFetches;
        app.WorkOS.RotateKey();
        using (var after = await MeAsync(app.WorkOS.MintAccessToken(sub))) Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal(fetches + 1, app.WorkOS.JwksFetches);
        using (var again = await MeAsync(app.WorkOS.MintAccessToken(sub))) Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(fetches + 1, app.WorkOS.JwksFetches);
    }

    private static string Unsigned(string sub, string issuer)
    {
        static string Part(object value) => Base64UrlEncoder.Encode(JsonSerializer.Serialize(value));
        var exp = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds();
        return $"{Part(new { alg = "none", typ = "JWT" })}.{Part(new { sub, iss = issuer, exp, sid = "s" })}.";
    }
}
