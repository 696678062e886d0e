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
        string Meta(string key) => typeof(MinimalWorkerFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
        Host = await DevHostProcess.StartAsync(Meta("DevHostAssembly"), ["--app", Meta("MinimalWorkerDirectory"), "--port", "0"], TimeSpan.FromMinutes(2),
            new Dictionary<string, string> { [HostSettings.RequestBodySizeLimitSetting] = BodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture) });
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
    public async Task A_failed_invocation_becomes_a_500_problem_without_internals()
    {
        using var response = await app.Client.GetAsync("fail");
        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError, "unexpected");
        Assert.DoesNotContain("hunter2", problem.GetRawText());
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
    public async Task Routes_and_methods_that_match_no_function_are_404_problems()
    {
        using var unknown = await app.Client.GetAsync("nothing/here");
        await ProblemAssert.IsProblemAsync(unknown, HttpStatusCode.NotFound, "not-found");
        using var wrongMethod = await app.Client.DeleteAsync("hello");
        await ProblemAssert.IsProblemAsync(wrongMethod, HttpStatusCode.NotFound, "not-found");
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
