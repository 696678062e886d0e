using System.Net;
using System.Reflection;
using System.Text.Json;
using SmartApp.DevHost;

namespace SmartApp.Tests.EndToEnd;

/// <summary>A dev host of its own for one test, serving the minimal worker with the clocks and settings the test gives.</summary>
internal sealed class MinimalHost : IAsyncDisposable
{
    public required DevHostProcess Host { get; init; }
    public required HttpClient Client { get; init; }

    public static async Task<MinimalHost> StartAsync(string[] arguments, Dictionary<string, string>? environment = null)
    {
        var host = await DevHostProcess.StartAsync(BuildMetadata.Get("DevHostAssembly"), ["--app", BuildMetadata.Get("MinimalWorkerDirectory"), "--port", "0", .. arguments],
            TimeSpan.FromMinutes(2), environment);
        return new MinimalHost { Host = host, Client = new HttpClient { BaseAddress = new Uri(host.State["apiUrl"] + "/"), Timeout = TimeSpan.FromSeconds(90) } };
    }

    public int WorkerPid => Host.ChildProcessId("MinimalWorker.dll");

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Host.DisposeAsync();
    }
}

/// <summary>
/// The dev host fails, restarts and stops as the Functions host does (the clocks shortened through
/// <c>--timing</c>; their real values are pinned in <see cref="Unit.HostFidelityTests"/>).
/// </summary>
public sealed class DevHostFailureTests
{
    private static async Task AssertEmptyAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_response_not_started_by_the_front_ends_deadline_is_cut_with_502_and_the_function_runs_on()
    {
        await using var app = await MinimalHost.StartAsync(["--timing", "responseStart=2"]);
        using var response = await app.Client.GetAsync("sleep?seconds=5");
        await AssertEmptyAsync(response, HttpStatusCode.BadGateway);
        Assert.True(await app.Host.OutputShowsAsync("the front end's deadline", TimeSpan.FromSeconds(10)), app.Host.Output);
        // "The function will continue running but will be unable to return an HTTP response."
        Assert.True(await app.Host.OutputShowsAsync("Sleep finished after 5 s", TimeSpan.FromSeconds(15)), app.Host.Output);
    }

    [Fact]
    public async Task A_function_past_functionTimeout_gets_the_hosts_500_and_its_worker_is_restarted()
    {
        await using var app = await MinimalHost.StartAsync(["--timing", "restartInterval=1"],
            new() { ["AzureFunctionsJobHost__functionTimeout"] = "00:00:02" });
        var before = app.WorkerPid;
        using var response = await app.Client.GetAsync("sleep?seconds=20");
        await AssertEmptyAsync(response, HttpStatusCode.InternalServerError);
        Assert.True(await app.Host.OutputShowsAsync("Timeout value of 00:00:02 exceeded by function 'Sleep'", TimeSpan.FromSeconds(10)), app.Host.Output);
        using var next = await app.Client.GetAsync("hello");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.NotEqual(before, app.WorkerPid);
        Assert.DoesNotContain("Recycling the host", app.Host.Output); // a timeout restart is not a worker error
    }

    [Fact]
    public async Task A_worker_crash_mid_request_is_the_hosts_500_and_the_third_crash_in_the_window_recycles_the_host()
    {
        await using var app = await MinimalHost.StartAsync(["--timing", "restartInterval=1"]);
        for (var crash = 1; crash <= 3; crash++)
        {
            var before = app.WorkerPid;
            using (var response = await app.Client.GetAsync("exit?code=3"))
                await AssertEmptyAsync(response, HttpStatusCode.InternalServerError);
            // The next request is held while the worker restarts, then served by the new one.
            using (var next = await app.Client.GetAsync("hello"))
                Assert.Equal(HttpStatusCode.OK, next.StatusCode);
            Assert.NotEqual(before, app.WorkerPid);
            Assert.Equal(crash == 3, app.Host.Output.Contains("3 worker errors within 30 minutes. Recycling the host", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Exit_code_200_is_an_intended_restart_and_exit_code_0_is_not_restarted()
    {
        await using var app = await MinimalHost.StartAsync(["--timing", "restartInterval=1", "--timing", "restartHold=2"]);
        using (var intended = await app.Client.GetAsync("exit?code=200"))
            Assert.Equal(HttpStatusCode.InternalServerError, intended.StatusCode);
        Assert.True(await app.Host.OutputShowsAsync("asked for a restart (exit code 200)", TimeSpan.FromSeconds(10)), app.Host.Output);
        using (var after = await app.Client.GetAsync("hello"))
            Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.DoesNotContain("exited unexpectedly", app.Host.Output);

        using (var done = await app.Client.GetAsync("exit?code=0"))
            Assert.Equal(HttpStatusCode.InternalServerError, done.StatusCode);
        Assert.True(await app.Host.OutputShowsAsync("exited with code 0; the host does not restart it", TimeSpan.FromSeconds(10)), app.Host.Output);
        using var down = await app.Client.GetAsync("hello");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.Equal("Function host is not running.", await down.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Shutdown_drains_an_in_flight_request_before_ending_the_worker()
    {
        var app = await MinimalHost.StartAsync([]);
        var inFlight = app.Client.GetAsync("sleep?seconds=3");
        // The invocation has reached the worker (the function's name alone also shows in the start-up listing).
        Assert.True(await app.Host.OutputShowsAsync("Sleep started for 3 s", TimeSpan.FromSeconds(10)), app.Host.Output);
        await Task.Delay(500);
        var stopping = app.Host.DisposeAsync().AsTask(); // SIGTERM
        using var response = await inFlight;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"slept\":3", await response.Content.ReadAsStringAsync());
        await stopping;
        Assert.Contains("Stopped worker 1", app.Host.Output);
        Assert.Contains("the host is stopping", app.Host.Output);
        app.Client.Dispose();
    }

    [Fact]
    public async Task The_idle_worker_option_takes_the_worker_away_with_its_background_work_and_the_next_request_starts_another()
    {
        await using var app = await MinimalHost.StartAsync(["--timing", "idleWorker=1"]);
        var before = app.WorkerPid;
        using (var accepted = await app.Client.PostAsync("background?seconds=6", null))
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.True(await app.Host.OutputShowsAsync("Took the idle worker 1 away", TimeSpan.FromSeconds(15)), app.Host.Output);
        await Task.Delay(TimeSpan.FromSeconds(7)); // longer than the background work would have needed
        Assert.DoesNotContain("Background work finished", app.Host.Output);
        using var next = await app.Client.GetAsync("hello");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.NotEqual(before, app.WorkerPid);
    }

    [Fact]
    public async Task Host_json_throttles_refuse_a_request_beyond_the_outstanding_limit_with_429()
    {
        await using var app = await MinimalHost.StartAsync([], new()
        {
            ["AzureFunctionsJobHost__extensions__http__maxConcurrentRequests"] = "1",
            ["AzureFunctionsJobHost__extensions__http__maxOutstandingRequests"] = "2",
        });
        var responses = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => app.Client.GetAsync("sleep?seconds=2")));
        Assert.Equal(2, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        var refused = Assert.Single(responses, r => r.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.Equal("1", refused.Headers.GetValues(HostAnswers.ScaleOutHeader).Single());
        foreach (var response in responses) response.Dispose();
    }

    [Fact]
    public async Task Azure_mode_gives_the_front_ends_headers_the_platforms_environment_and_host_json_hsts()
    {
        await using var app = await MinimalHost.StartAsync(["--azure"], new() { ["AzureFunctionsJobHost__extensions__http__hsts__isEnabled"] = "true" });
        using var response = await app.Client.GetAsync("echo");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var echo = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("https", echo.GetProperty("scheme").GetString());
        Assert.Equal("smartapp-local.azurewebsites.net", echo.GetProperty("host").GetString());
        var environment = echo.GetProperty("environment");
        Assert.Equal("Production", environment.GetProperty("AZURE_FUNCTIONS_ENVIRONMENT").GetString());
        Assert.Equal("FlexConsumption", environment.GetProperty("WEBSITE_SKU").GetString());
        Assert.Equal("smartapp-local.azurewebsites.net", environment.GetProperty("WEBSITE_HOSTNAME").GetString());
        Assert.Equal("10.0", environment.GetProperty("FUNCTIONS_WORKER_RUNTIME_VERSION").GetString());
        Assert.StartsWith("max-age=", response.Headers.GetValues("Strict-Transport-Security").Single());
    }

    [Fact]
    public async Task Several_workers_share_the_requests_as_FUNCTIONS_WORKER_PROCESS_COUNT_spreads_them()
    {
        await using var app = await MinimalHost.StartAsync(["--workers", "2", "--timing", "processStartupInterval=1"]);
        await Eventually.UntilAsync(() => Task.FromResult(System.Text.RegularExpressions.Regex.Matches(app.Host.Output, "worker \\d \\(pid \\d+\\) is ready").Count == 2), "both workers ready");
        var pids = new HashSet<int>();
        for (var i = 0; i < 10; i++)
        {
            using var response = await app.Client.GetAsync("echo");
            pids.Add(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("pid").GetInt32());
        }
        Assert.Equal(app.Host.ChildProcessIds("MinimalWorker.dll").Order(), pids.Order());
    }

    [Fact]
    public async Task Ctrl_C_sent_to_the_process_group_without_a_terminal_stops_the_host_and_its_worker()
    {
        // As a process supervisor or an IDE task does: the dev host started in the background of a script (so it
        // inherits SIGINT ignored), then SIGINT sent to the whole process group.
        var ready = Path.Combine(Path.GetTempPath(), $"smartapp-sigint-{Guid.NewGuid():N}.json");
        var script = $"dotnet '{BuildMetadata.Get("DevHostAssembly")}' --app '{BuildMetadata.Get("MinimalWorkerDirectory")}' --port 0 --ready-file '{ready}' > /dev/null 2>&1 & wait";
        using var session = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("setsid", ["bash", "-c", script]))!;
        await Eventually.UntilAsync(() => File.Exists(ready), "the dev host to serve");
        var group = session.Id;
        Assert.Contains(InGroup(group), pid => File.ReadAllText($"/proc/{pid}/cmdline").Contains("MinimalWorker.dll", StringComparison.Ordinal));

        Assert.Equal(0, Kill(-group, 2)); // SIGINT to the group
        await Eventually.UntilAsync(() => InGroup(group).Count == 0, "every process of the group to end");
        File.Delete(ready);
    }

    /// <summary>The processes whose process group is <paramref name="group"/> (Linux).</summary>
    private static List<int> InGroup(int group) =>
        Directory.EnumerateDirectories("/proc").Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0).Where(pid => pid > 0).Where(pid =>
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return fields[0] != "Z" && int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture) == group;
            }
            catch (IOException)
            {
                return false;
            }
        }).ToList();

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);
}
