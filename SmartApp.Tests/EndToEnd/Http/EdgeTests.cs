using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace SmartApp.Tests.EndToEnd;

/// <summary>The HTTP edge as a client meets it: unknown routes, CORS, the error contract and correlation ids, through the real worker.</summary>
[Collection(DevHostCollection.Name)]
public sealed class EdgeTests(DevHostFixture app)
{
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
}
