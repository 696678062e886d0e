using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using SmartApp.Domain.Identity.Adapters.Blob;

namespace SmartApp.Tests.EndToEnd;

/// <summary>Demo sign-in and bearer tokens as a client meets them: who the caller is, and every credential that is not valid refused with 401.</summary>
[Collection(DevHostCollection.Name)]
public sealed class AuthenticationTests(DevHostFixture app)
{
    [Fact]
    public async Task Demo_token_gets_the_signed_in_user_from_me()
    {
        var email = TestUsers.NewEmail();
        var (client, signIn) = await app.SignInAsync(email, "Ada Lovelace");
        Assert.Equal("Bearer", signIn.GetProperty("tokenType").GetString());
        Assert.True(signIn.GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(30));

        using var response = await client.GetAsync("me");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var me = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(signIn.GetProperty("user").GetProperty("id").GetString(), me.GetProperty("id").GetString());
        Assert.Equal(email, me.GetProperty("email").GetString());
        Assert.Equal("Ada Lovelace", me.GetProperty("name").GetString());
        Assert.Equal("free", me.GetProperty("plan").GetString());
        Assert.Equal(JsonValueKind.Object, me.GetProperty("usage").ValueKind);
        Assert.True(me.GetProperty("createdAt").GetDateTimeOffset() <= DateTimeOffset.UtcNow);
        Assert.True(me.GetProperty("lastSignInAt").GetDateTimeOffset() >= me.GetProperty("createdAt").GetDateTimeOffset());
    }

    [Fact]
    public async Task A_demo_member_of_an_organization_carries_its_role_and_permissions_and_a_later_token_without_it_does_not()
    {
        var email = TestUsers.NewEmail("member");
        async Task<JsonElement> SessionAsync(object body)
        {
            using var signedIn = await app.Client.PostAsJsonAsync("auth/demo", body);
            Assert.Equal(HttpStatusCode.OK, signedIn.StatusCode);
            using var user = new HttpClient { BaseAddress = app.Client.BaseAddress };
            user.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await signedIn.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString());
            return (await user.GetFromJsonAsync<JsonElement>("me")).GetProperty("session");
        }
        static string[] Strings(JsonElement list) => [.. list.EnumerateArray().Select(e => e.GetString()!)];

        var member = await SessionAsync(new { email, organizationId = "org_acme01" });
        Assert.Equal(("org_acme01", "member"), (member.GetProperty("organizationId").GetString(), member.GetProperty("role").GetString()));
        Assert.Equal(["member"], Strings(member.GetProperty("roles")));
        Assert.Empty(Strings(member.GetProperty("granted"))); // a member reads only

        var writer = await SessionAsync(new { email, organizationId = "org_acme01", permissions = new[] { "files:write" } });
        Assert.Equal(["files:write"], Strings(writer.GetProperty("granted")));

        var admin = await SessionAsync(new { email, organizationId = "org_acme01", role = "admin" });
        Assert.Equal(["billing:manage", "data:write", "files:write", "memory:write", "organization:export"], Strings(admin.GetProperty("granted")));

        // The next token without the organization: nothing of it is held any more.
        var alone = await SessionAsync(new { email });
        Assert.False(alone.TryGetProperty("organizationId", out var organization) && organization.ValueKind != JsonValueKind.Null);
        Assert.Empty(Strings(alone.GetProperty("granted")));

        foreach (var (body, field) in new (object, string)[]
        {
            (new { email, role = "admin" }, "role"),
            (new { email, permissions = new[] { "files:write" } }, "permissions"),
            (new { email, organizationId = "acme" }, "organizationId"),
            (new { email, organizationId = "org_acme01", role = "Admin!" }, "role"),
            (new { email, organizationId = "org_acme01", permissions = new[] { "write everything" } }, "permissions"),
        })
        {
            var problem = await ProblemAssert.IsProblemAsync(await app.Client.PostAsJsonAsync("auth/demo", body), HttpStatusCode.BadRequest, "validation");
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"{field}: {problem}");
        }
    }

    [Fact]
    public async Task Signing_in_again_with_the_same_email_is_the_same_user_and_keeps_creation_time()
    {
        var email = TestUsers.NewEmail();
        var (_, first) = await app.SignInAsync(email, "First Name");
        var (client, second) = await app.SignInAsync(email.ToUpperInvariant(), "Second Name");
        Assert.Equal(first.GetProperty("user").GetProperty("id").GetString(), second.GetProperty("user").GetProperty("id").GetString());
        var me = await client.GetFromJsonAsync<JsonElement>("me");
        Assert.Equal("Second Name", me.GetProperty("name").GetString());
        Assert.Equal(first.GetProperty("user").GetProperty("createdAt").GetDateTimeOffset(), me.GetProperty("createdAt").GetDateTimeOffset());
    }

    [Fact]
    public async Task Two_users_each_see_only_themselves()
    {
        var (alice, aliceSignIn) = await app.SignInAsync(TestUsers.NewEmail("alice"));
        var (bob, bobSignIn) = await app.SignInAsync(TestUsers.NewEmail("bob"));
        var aliceMe = await alice.GetFromJsonAsync<JsonElement>("me");
        var bobMe = await bob.GetFromJsonAsync<JsonElement>("me");
        Assert.Equal(aliceSignIn.GetProperty("user").GetProperty("id").GetString(), aliceMe.GetProperty("id").GetString());
        Assert.Equal(bobSignIn.GetProperty("user").GetProperty("id").GetString(), bobMe.GetProperty("id").GetString());
        Assert.NotEqual(aliceMe.GetProperty("id").GetString(), bobMe.GetProperty("id").GetString());
    }

    [Fact]
    public async Task No_token_is_401_problem_with_a_bearer_challenge()
    {
        using var response = await app.Client.GetAsync("me");
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Theory]
    [InlineData("Bearer garbage")]
    [InlineData("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer ")]
    public async Task A_garbage_or_foreign_credential_is_401_problem(string authorization)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "me");
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        using var response = await app.Client.SendAsync(request);
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task An_expired_token_signed_with_the_real_key_is_401_problem()
    {
        var (_, signIn) = await app.SignInAsync(TestUsers.NewEmail());
        var key = await ReadSigningKeyAsync();
        var expiredAt = DateTime.UtcNow.AddMinutes(-5); // beyond the 60 s clock skew
        var token = Mint(key, signIn.GetProperty("user").GetProperty("id").GetString()!, expiredAt.AddHours(-1), expiredAt);

        using var response = await SendWithToken("me", token);
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized, "unauthorized");

        // The same key and claims with a live lifetime are accepted: the expiry is what was refused.
        var live = Mint(key, signIn.GetProperty("user").GetProperty("id").GetString()!, DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddMinutes(10));
        using var accepted = await SendWithToken("me", live);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
    }

    [Fact]
    public async Task A_token_signed_with_another_key_is_401_problem()
    {
        var (_, signIn) = await app.SignInAsync(TestUsers.NewEmail());
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var forged = Mint(new RsaSecurityKey(rsa) { KeyId = "forged" }, signIn.GetProperty("user").GetProperty("id").GetString()!,
            DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddMinutes(10));
        using var response = await SendWithToken("me", forged);
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized, "unauthorized");
    }

    private async Task<HttpResponseMessage> SendWithToken(string path, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await app.Client.SendAsync(request);
    }

    private async Task<SecurityKey> ReadSigningKeyAsync()
    {
        var blob = new BlobServiceClient(app.StorageConnectionString).GetBlobContainerClient("system").GetBlobClient(BlobSigningKeyStore.KeyBlobName);
        var pem = (await blob.DownloadContentAsync()).Value.Content.ToString();
        return BlobSigningKeyStore.ToSecurityKey(pem);
    }

    private static string Mint(SecurityKey key, string userId, DateTime notBefore, DateTime expires) =>
        new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "smartapp-demo",
            Audience = "smartapp",
            IssuedAt = notBefore,
            NotBefore = notBefore,
            Expires = expires,
            Claims = new Dictionary<string, object> { ["sub"] = userId, ["email"] = "someone@e2e.test" },
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
        });
}
