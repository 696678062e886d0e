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

/// <summary>The foundation as a client meets it: health, demo sign-in, the error contract, through the real worker.</summary>
[Collection(DevHostCollection.Name)]
public sealed class FoundationTests(DevHostFixture app)
{
    [Fact]
    public async Task Health_is_200_and_healthy_when_storage_answers()
    {
        using var response = await app.Client.GetAsync("health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("healthy", body.GetProperty("status").GetString());
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
    }

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
    public async Task A_worker_that_dies_is_restarted_and_sessions_survive_it()
    {
        var (client, _) = await app.SignInAsync(TestUsers.NewEmail());
        var worker = app.WorkerProcessId();
        System.Diagnostics.Process.GetProcessById(worker).Kill();

        // A request that reaches the dead worker before the host notices gets the host's empty 500 (after its
        // connection retries); later ones are held until the new worker is up. Then the same token works again.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        HttpStatusCode status;
        do
        {
            using var response = await client.GetAsync("me");
            status = response.StatusCode;
            if (status != HttpStatusCode.OK)
            {
                Assert.Equal(HttpStatusCode.InternalServerError, status);
                Assert.Empty(await response.Content.ReadAsByteArrayAsync());
            }
            else break;
            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.NotEqual(worker, app.WorkerProcessId());
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

    [Theory]
    [InlineData("no/such/route")]
    [InlineData("chat/nothing-here")]
    public async Task An_unknown_route_is_404_problem(string path)
    {
        using var response = await app.Client.GetAsync(path);
        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound, "not-found");
        Assert.Contains(path, problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("GET", "authorization")]
    [InlineData("POST", "authorization,content-type")]
    public async Task A_web_app_on_the_allowed_origin_passes_the_preflight_and_others_do_not(string method, string headers)
    {
        // Core Tools' CORS from local.settings.json (the sample allows the default web origin, with credentials).
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "me");
        preflight.Headers.Add("Origin", "http://localhost:3000");
        preflight.Headers.Add("Access-Control-Request-Method", method);
        preflight.Headers.Add("Access-Control-Request-Headers", headers);
        using var allowed = await app.Client.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, allowed.StatusCode);
        Assert.Equal("http://localhost:3000", allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("true", allowed.Headers.GetValues("Access-Control-Allow-Credentials").Single());
        Assert.Contains(method, allowed.Headers.GetValues("Access-Control-Allow-Methods").Single());

        using var foreign = new HttpRequestMessage(HttpMethod.Options, "me");
        foreign.Headers.Add("Origin", "https://evil.example");
        foreign.Headers.Add("Access-Control-Request-Method", method);
        using var refused = await app.Client.SendAsync(foreign);
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));

        // The real request from the allowed origin carries the header the browser needs to read its answer.
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("cors"));
        using var request = new HttpRequestMessage(HttpMethod.Get, "me");
        request.Headers.Add("Origin", "http://localhost:3000");
        using var answer = await user.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("http://localhost:3000", answer.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task A_path_outside_the_api_is_the_hosts_empty_404()
    {
        // Outside routePrefix no function (not even the app's catch-all) matches: the Functions host answers, with no body.
        using var response = await app.Client.GetAsync(new Uri(app.State["baseUrl"] + "/not-the-api"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_throwing_function_is_500_problem_with_trace_id_and_no_internals()
    {
        using var response = await app.Client.GetAsync("diagnostics/fault");
        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError, "unexpected");
        var text = problem.GetRawText();
        Assert.DoesNotContain("AccountKey", text);
        Assert.DoesNotContain("c2VjcmV0", text);
        Assert.DoesNotContain("/srv/secret", text);
        Assert.DoesNotContain("Deliberate", text);
        Assert.Matches("^[0-9a-f]{32}$", problem.GetProperty("traceId").GetString());
        // The operator can find it: the worker logged the failure with the exception.
        Assert.True(await app.OutputShowsAsync("DiagnosticsFault failed", TimeSpan.FromSeconds(10)), "the failure was not logged");
    }

    [Fact]
    public async Task Malformed_json_is_400_problem_naming_where()
    {
        using var content = new StringContent("{\"email\": \"a@b.co\", ", Encoding.UTF8, "application/json");
        using var response = await app.Client.PostAsync("auth/demo", content);
        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "validation");
        Assert.Contains("line 1", problem.GetProperty("detail").GetString());
        Assert.Equal(JsonValueKind.Object, problem.GetProperty("errors").ValueKind);
    }

    [Fact]
    public async Task An_invalid_field_is_400_problem_naming_the_field()
    {
        using var response = await app.Client.PostAsJsonAsync("auth/demo", new { email = "not an email" });
        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "validation");
        Assert.True(problem.GetProperty("errors").TryGetProperty("email", out _));
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_415_problem()
    {
        using var content = new StringContent("email=a@b.co", Encoding.UTF8, "application/x-www-form-urlencoded");
        using var response = await app.Client.PostAsync("auth/demo", content);
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
    }

    [Fact]
    public async Task The_correlation_id_is_echoed_or_made()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "health");
        request.Headers.Add("X-Correlation-Id", "client-abc.123");
        using var echoed = await app.Client.SendAsync(request);
        Assert.Equal("client-abc.123", echoed.Headers.GetValues("X-Correlation-Id").Single());

        using var bad = new HttpRequestMessage(HttpMethod.Get, "me");
        bad.Headers.TryAddWithoutValidation("X-Correlation-Id", "<script>");
        using var made = await app.Client.SendAsync(bad);
        var id = made.Headers.GetValues("X-Correlation-Id").Single();
        Assert.Matches("^[0-9a-f]{32}$", id);
        var problem = await ProblemAssert.IsProblemAsync(made, HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Equal(id, problem.GetProperty("correlationId").GetString());
    }

    [Fact]
    public async Task Health_details_are_for_admins_and_name_each_dependency()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail());
        using var forbidden = await user.GetAsync("health/details");
        await ProblemAssert.IsProblemAsync(forbidden, HttpStatusCode.Forbidden, "forbidden");

        using var anonymous = await app.Client.GetAsync("health/details");
        await ProblemAssert.IsProblemAsync(anonymous, HttpStatusCode.Unauthorized, "unauthorized");

        var (admin, _) = await app.SignInAsync(TestUsers.AdminEmail);
        var details = await admin.GetFromJsonAsync<JsonElement>("health/details");
        Assert.Equal("healthy", details.GetProperty("status").GetString());
        var dependencies = details.GetProperty("dependencies");
        Assert.Equal("healthy", dependencies.GetProperty("cosmos").GetProperty("status").GetString());
        Assert.Equal("Azure Cosmos DB", dependencies.GetProperty("cosmos").GetProperty("provider").GetString());
        Assert.Equal("healthy", dependencies.GetProperty("blob").GetProperty("status").GetString());
        Assert.True(dependencies.GetProperty("blob").GetProperty("latencyMs").GetInt64() >= 0);
        // The model in use, read from the provider's list.
        Assert.Equal("healthy", dependencies.GetProperty("model").GetProperty("status").GetString());
        Assert.Contains("e2e-model is served", dependencies.GetProperty("model").GetProperty("description").GetString());
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
