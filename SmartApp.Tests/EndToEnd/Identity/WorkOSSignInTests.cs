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

    [Fact]
    public async Task A_token_s_organization_role_permissions_and_impersonator_show_on_me()
    {
        var user = NewUser();
        await ExchangeAsync(new { code = app.WorkOS.IssueCode(user) }); // the user record exists
        var token = app.WorkOS.MintAccessToken(user.Id, sessionId: "session_org_e2e", extraClaims: new Dictionary<string, object>
        {
            ["org_id"] = "org_01E2E", ["role"] = "admin", ["roles"] = new[] { "admin", "billing" }, ["permissions"] = new[] { "posts:write", "invoices:read" },
            ["act"] = new Dictionary<string, object> { ["sub"] = "support@e2e.test" },
        });
        using var response = await MeAsync(token);
        var me = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, me.ToString());
        var session = me.GetProperty("session");
        Assert.Equal("session_org_e2e", session.GetProperty("id").GetString());
        Assert.Equal("org_01E2E", session.GetProperty("organizationId").GetString());
        Assert.Equal("admin", session.GetProperty("role").GetString());
        Assert.Equal(["admin", "billing"], session.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(["posts:write", "invoices:read"], session.GetProperty("permissions").EnumerateArray().Select(p => p.GetString()));
        // An admin may do everything its role grants by default, besides what its token says.
        Assert.Equal(["billing:manage", "data:write", "files:write", "invoices:read", "memory:write", "organization:export", "posts:write"], session.GetProperty("granted").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal("support@e2e.test", session.GetProperty("impersonator").GetString());
        Assert.True(await app.OutputShowsAsync($"support@e2e.test impersonating user {user.Id}", TimeSpan.FromSeconds(10)), "the impersonated request is logged as such");

        // A plain token: no organization, no impersonator.
        using var plain = await MeAsync(app.WorkOS.MintAccessToken(user.Id));
        var plainSession = (await plain.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("session");
        Assert.False(plainSession.TryGetProperty("organizationId", out var organization) && organization.ValueKind != JsonValueKind.Null);
        Assert.False(plainSession.TryGetProperty("impersonator", out var impersonator) && impersonator.ValueKind != JsonValueKind.Null);
        Assert.Empty(plainSession.GetProperty("permissions").EnumerateArray());
    }

    [Fact]
    public async Task Email_verification_required_reaches_the_client_with_its_pending_token_and_the_emailed_code_finishes_sign_in()
    {
        var user = NewUser();
        app.WorkOS.EmailVerificationCodes[user.Id] = "123456";
        using var response = await app.Client.PostAsJsonAsync("auth/token", new { code = app.WorkOS.IssueCode(user) });
        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, "authentication-pending");
        Assert.Equal("email_verification_required", problem.GetProperty("code").GetString());
        Assert.Equal(user.Email, problem.GetProperty("email").GetString());
        var pending = problem.GetProperty("pendingAuthenticationToken").GetString();
        Assert.StartsWith("pat_", pending);

        // A wrong code is refused; the emailed one signs the user in.
        await ExchangeAsync(new { pendingAuthenticationToken = pending, code = "000000" }, HttpStatusCode.Unauthorized);
        await ExchangeAsync(new { pendingAuthenticationToken = pending }, HttpStatusCode.BadRequest);
        var signIn = await ExchangeAsync(new { pendingAuthenticationToken = pending, code = "123456" });
        Assert.Equal(user.Id, signIn.GetProperty("user").GetProperty("id").GetString());
    }

    [Fact]
    public async Task Organization_selection_required_lists_the_organizations_and_the_choice_signs_in_to_it()
    {
        var user = NewUser();
        app.WorkOS.OrganizationChoices[user.Id] = [("org_acme", "Acme"), ("org_globex", "Globex")];
        app.WorkOS.Memberships[$"{user.Id}:org_globex"] = ("member", ["files:write"]);
        using var response = await app.Client.PostAsJsonAsync("auth/token", new { code = app.WorkOS.IssueCode(user) });
        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, "authentication-pending");
        Assert.Equal("organization_selection_required", problem.GetProperty("code").GetString());
        Assert.Equal(["Acme", "Globex"], problem.GetProperty("organizations").EnumerateArray().Select(o => o.GetProperty("name").GetString()));
        var signIn = await ExchangeAsync(new { pendingAuthenticationToken = problem.GetProperty("pendingAuthenticationToken").GetString(), organizationId = "org_globex" });
        using var me = await MeAsync(signIn.GetProperty("accessToken").GetString()!);
        var session = (await me.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("session");
        Assert.Equal(("org_globex", "member"), (session.GetProperty("organizationId").GetString(), session.GetProperty("role").GetString()));
        Assert.Equal(["files:write"], session.GetProperty("granted").EnumerateArray().Select(p => p.GetString())); // the token's permission; a member's role grants none
    }

    [Fact]
    public async Task Users_changed_or_deleted_in_WorkOS_are_changed_or_deleted_here()
    {
        var user = NewUser();
        var token = (await ExchangeAsync(new { code = app.WorkOS.IssueCode(user) })).GetProperty("accessToken").GetString()!;
        var bystander = NewUser(); // signed in here too: nothing of theirs changes
        var bystanderToken = (await ExchangeAsync(new { code = app.WorkOS.IssueCode(bystander) })).GetProperty("accessToken").GetString()!;
        var stranger = NewUser(); // never signed in here: an update of them creates nothing
        app.WorkOS.PublishUserEvent("user.updated", stranger);

        var renamed = user with { Email = $"ada-{Guid.NewGuid():N}@e2e.test", FirstName = "Ada", LastName = "Lovelace" };
        app.WorkOS.PublishUserEvent("user.updated", renamed);
        JsonElement me = default;
        await Eventually.UntilAsync(async () =>
        {
            using var response = await MeAsync(token);
            me = await response.Content.ReadFromJsonAsync<JsonElement>();
            return response.StatusCode == HttpStatusCode.OK && me.GetProperty("email").GetString() == renamed.Email;
        }, "the new email reaches the user record");
        Assert.Equal("Ada Lovelace", me.GetProperty("name").GetString());
        using (var strangers = await MeAsync(app.WorkOS.MintAccessToken(stranger.Id)))
            Assert.NotEqual(HttpStatusCode.OK, strangers.StatusCode);

        app.WorkOS.PublishUserEvent("user.deleted", renamed);
        await Eventually.UntilAsync(async () =>
        {
            using var response = await MeAsync(token);
            return response.StatusCode == HttpStatusCode.Unauthorized;
        }, "the account deleted in WorkOS is deleted here, and its token refused");
        using var bystanders = await MeAsync(bystanderToken);
        var bystanderMe = await bystanders.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.OK, bystanders.StatusCode);
        Assert.Equal(bystander.Email, bystanderMe.GetProperty("email").GetString());
    }

    [Fact]
    public async Task An_organization_deleted_in_WorkOS_loses_its_space_and_its_members_keep_theirs()
    {
        var organization = "org_" + Guid.NewGuid().ToString("N");
        var user = NewUser();
        app.WorkOS.OrganizationChoices[user.Id] = [(organization, "Short-lived Ltd"), ("org_elsewhere", "Elsewhere")];
        app.WorkOS.Memberships[$"{user.Id}:{organization}"] = ("admin", []);
        using var pending = await app.Client.PostAsJsonAsync("auth/token", new { code = app.WorkOS.IssueCode(user) });
        var problem = await ProblemAssert.IsProblemAsync(pending, HttpStatusCode.Forbidden, "authentication-pending");
        var signIn = await ExchangeAsync(new { pendingAuthenticationToken = problem.GetProperty("pendingAuthenticationToken").GetString(), organizationId = organization });
        using var client = new HttpClient { BaseAddress = app.Client.BaseAddress, Timeout = app.Client.Timeout };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", signIn.GetProperty("accessToken").GetString());

        async Task<string> UploadAsync(string text, string path)
        {
            using var content = new StringContent(text, Encoding.UTF8, "text/plain");
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
            request.Headers.Add("X-File-Name", "notes.txt");
            using var response = await client.SendAsync(request);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(response.StatusCode == HttpStatusCode.Created, body.ToString());
            return body.GetProperty("id").GetString()!;
        }
        var teamFile = await UploadAsync("The team's lighthouse keeper rota.", "files?space=org");
        using (var record = await client.PostAsJsonAsync("data/tables/rota/records?space=org", new { id = "monday", keeper = "Ada" }))
            Assert.Equal(HttpStatusCode.Created, record.StatusCode);
        string teamDocument;
        using (var document = await client.PostAsJsonAsync("memory/documents?space=org", new { document = new { text = "The lighthouse lamp is lit at dusk." } }))
            teamDocument = (await document.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("documentId").GetString()!;
        var ownFile = await UploadAsync("My own lighthouse sketches.", "files");
        await FileTests.WaitForAsync(client, teamFile, "indexed");
        await FileTests.WaitForAsync(client, ownFile, "indexed");
        var blobs = new Azure.Storage.Blobs.BlobServiceClient(app.StorageConnectionString).GetBlobContainerClient("files");
        async Task<int> BlobsOfAsync(string owner)
        {
            var count = 0;
            await foreach (var _ in blobs.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, $"users/{owner}/", default)) count++;
            return count;
        }
        Assert.Equal(1, await BlobsOfAsync(organization));

        app.WorkOS.PublishOrganizationEvent("organization.deleted", organization, "Short-lived Ltd");
        await Eventually.UntilAsync(async () =>
        {
            using var response = await client.GetAsync($"files/{teamFile}");
            return response.StatusCode == HttpStatusCode.NotFound && await BlobsOfAsync(organization) == 0;
        }, "the deleted organization's file and its bytes are gone");
        Assert.DoesNotContain(await FileTests.SearchAsync(client, new { query = "lighthouse" }), h => h.GetProperty("fileId").GetString() == teamFile);
        using (var record = await client.GetAsync("data/tables/rota/records/monday?space=org"))
            Assert.Equal(HttpStatusCode.NotFound, record.StatusCode);
        using (var document = await client.GetAsync($"memory/documents/{teamDocument}"))
            Assert.Equal(HttpStatusCode.NotFound, document.StatusCode);

        // The member's own space, and the member, are untouched.
        Assert.Equal("indexed", (await client.GetFromJsonAsync<JsonElement>($"files/{ownFile}")).GetProperty("status").GetString());
        Assert.Equal(1, await BlobsOfAsync(user.Id));
        using var me = await MeAsync(signIn.GetProperty("accessToken").GetString()!);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
    }
}
