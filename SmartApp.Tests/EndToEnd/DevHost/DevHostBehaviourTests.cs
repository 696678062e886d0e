using System.Net;
using System.Reflection;
using SmartApp.DevHost;

namespace SmartApp.Tests.EndToEnd;

/// <summary>The dev host playing the Functions host for a bare worker (no error middleware of its own).</summary>
public sealed class MinimalWorkerFixture : IAsyncLifetime
{
    /// <summary>The host's body limit for this app, set low through the same app setting Azure reads (the default is 100 MiB).</summary>
    public const long BodyLimit = 1024 * 1024;

    public DevHostProcess Host { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Host = await DevHostProcess.StartAsync(BuildMetadata.Get("DevHostAssembly"), ["--app", BuildMetadata.Get("MinimalWorkerDirectory"), "--port", "0"], TimeSpan.FromMinutes(2),
            new Dictionary<string, string>
            {
                [HostSettings.RequestBodySizeLimitSetting] = BodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
                // host.json's extensions.http.customHeaders, through the app setting that overrides host.json, as in Azure.
                ["AzureFunctionsJobHost__extensions__http__customHeaders__X-Content-Type-Options"] = "nosniff",
            });
        Client = new HttpClient { BaseAddress = new Uri(Host.State["apiUrl"] + "/"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        if (Host is not null) await Host.DisposeAsync();
    }
}

public sealed class DevHostBehaviourTests(MinimalWorkerFixture app) : IClassFixture<MinimalWorkerFixture>
{
    [Fact]
    public async Task A_failed_invocation_is_the_hosts_empty_500()
    {
        // ExceptionMiddleware: a function that throws before its response starts gets a bare 500, nothing of the exception.
        using var response = await app.Client.GetAsync("fail");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_client_that_goes_away_cancels_the_invocation()
    {
        using var impatient = new CancellationTokenSource(TimeSpan.FromMilliseconds(700));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => app.Client.GetAsync("slow", impatient.Token));
        Assert.True(await app.Host.OutputShowsAsync("Slow was cancelled by the client going away", TimeSpan.FromSeconds(10)), app.Host.Output);
        Assert.True(await app.Host.OutputShowsAsync("client disconnected", TimeSpan.FromSeconds(10)), app.Host.Output);
    }

    [Fact]
    public async Task Routes_and_methods_that_match_no_function_are_the_hosts_empty_404()
    {
        using var unknown = await app.Client.GetAsync("nothing/here");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Empty(await unknown.Content.ReadAsByteArrayAsync());
        using var wrongMethod = await app.Client.DeleteAsync("hello");
        Assert.Equal(HttpStatusCode.NotFound, wrongMethod.StatusCode);
    }

    [Theory]
    [InlineData("items/42", "Item")]
    [InlineData("items/new", "ItemByName")]   // {id:int} refuses "new": the next function by name takes it
    [InlineData("items/4x2", "ItemByName")]
    public async Task An_inline_route_constraint_is_enforced_and_the_next_route_tried(string path, string function)
    {
        using var response = await app.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains($"\"function\":\"{function}\"", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_worker_sees_the_hosts_forwarding_headers_not_the_clients()
    {
        // YARP's default transforms (DefaultHttpProxyService): X-Forwarded-* set by the host, the invocation id added,
        // the client's trace continued.
        using var request = new HttpRequestMessage(HttpMethod.Get, "echo");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Host", "evil.example");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Proto", "https");
        request.Headers.TryAddWithoutValidation("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        using var response = await app.Client.SendAsync(request);
        var echo = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var headers = echo.GetProperty("headers");
        Assert.Equal($"127.0.0.1:{app.Client.BaseAddress!.Port}", echo.GetProperty("host").GetString());
        Assert.Equal("http", echo.GetProperty("scheme").GetString());
        Assert.DoesNotContain("evil.example", headers.GetRawText());
        Assert.True(Guid.TryParse(headers.GetProperty(InvocationProxy.InvocationIdHeader).GetString(), out _));
        Assert.StartsWith("00-0af7651916cd43dd8448eb211c80319c-", headers.GetProperty("traceparent").GetString());

        using var untraced = await app.Client.GetAsync("echo");
        var traceparent = System.Text.Json.JsonDocument.Parse(await untraced.Content.ReadAsStringAsync()).RootElement.GetProperty("headers").GetProperty("traceparent").GetString();
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", traceparent);
    }

    [Fact]
    public async Task Host_json_custom_headers_are_added_where_the_function_set_none()
    {
        using var response = await app.Client.GetAsync("hello");
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.False(response.Headers.Contains("Strict-Transport-Security")); // HSTS is off, and this is http
    }

    [Fact]
    public async Task A_function_answers_through_the_host()
    {
        using var response = await app.Client.GetAsync("hello");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("hello", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("evil.example:7071")]
    [InlineData("evil.example")]
    [InlineData("127.0.0.1.evil.example")]
    public async Task A_request_naming_any_host_but_loopback_is_refused(string host)
    {
        // A web page that points its own domain at 127.0.0.1 (DNS rebinding) sends its own Host: refused before the app sees it.
        using var request = new HttpRequestMessage(HttpMethod.Get, "hello");
        request.Headers.Host = host;
        using var response = await app.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.DoesNotContain("hello", await response.Content.ReadAsStringAsync());

        foreach (var loopback in new[] { "localhost", "127.0.0.1" })
        {
            using var allowed = new HttpRequestMessage(HttpMethod.Get, "hello");
            allowed.Headers.Host = $"{loopback}:{app.Client.BaseAddress!.Port}";
            using var answered = await app.Client.SendAsync(allowed);
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        }
    }

    [Fact]
    public async Task A_body_over_the_hosts_limit_is_refused_by_the_host_with_or_without_a_length_and_one_within_it_arrives()
    {
        var over = new byte[MinimalWorkerFixture.BodyLimit + 1];
        using (var declared = await app.Client.PostAsync("count", new ByteArrayContent(over)))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);
            Assert.Empty(await declared.Content.ReadAsByteArrayAsync()); // the host's refusal has no body, as the Functions host's server gives it
        }
        using (var chunked = await app.Client.PostAsync("count", new StreamContent(new NoLength(over))))
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, chunked.StatusCode);
        using var within = await app.Client.PostAsync("count", new StreamContent(new NoLength(new byte[MinimalWorkerFixture.BodyLimit / 2])));
        Assert.Equal(HttpStatusCode.OK, within.StatusCode);
        Assert.Contains($"{MinimalWorkerFixture.BodyLimit / 2}", await within.Content.ReadAsStringAsync());
    }

    private sealed class NoLength(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
