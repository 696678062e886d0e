// Measures SmartApp against the smallest possible isolated worker, both run by the dev host:
//  1. cold start: dev host launch -> first 200 from GET /api/health (median of N launches);
//  2. throughput: requests per second at concurrency 16 — SmartApp's authenticated GET /api/me
//     against the minimal worker's GET /api/hello.
// Usage: dotnet run -c Release --project benchmarks/SmartApp.Benchmarks [-- --launches 7 --seconds 15]
// Memory figures instead (put vs a direct Cosmos write; search at 1k and 10k memories):
//        dotnet run -c Release --project benchmarks/SmartApp.Benchmarks -- --memory [--samples 200]
// Files figures (100 MB upload vs a direct SDK upload, worker memory, ingestion, search at 20k chunks):
//        dotnet run -c Release --project benchmarks/SmartApp.Benchmarks -- --files [--megabytes 100 --samples 100]
// Chat figures (token relay delay through SSE; time to the first meta event with retrieval on):
//        dotnet run -c Release --project benchmarks/SmartApp.Benchmarks -- --chat [--turns 30]
// Webhook figures (Stripe events through the app, p50/p95 and events per second at concurrency 8):
//        dotnet run -c Release --project benchmarks/SmartApp.Benchmarks -- --webhooks [--seconds 15]
// Search engines side by side (first search of a user with 20k passages on a fresh instance, steady search, memory):
//        dotnet run -c Release --project benchmarks/SmartApp.Benchmarks -- --search [--users 10 --samples 100]
// Agents figures (MCP tools/call search_memory vs POST /api/memory/search, one user with 10k memories):
//        dotnet run -c Release --project benchmarks/SmartApp.Benchmarks -- --agents [--samples 100]
// Learning figures (a chat turn's latency with learning on and off; every turn states a fact):
//        dotnet run -c Release --project benchmarks/SmartApp.Benchmarks -- --learning [--turns 30]
// Data figures (insert rate; a filtered, ordered query over 10k records):
//        dotnet run -c Release --project benchmarks/SmartApp.Benchmarks -- --data [--samples 100]
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using SmartApp.DevHost;

if (args.Contains("--memory"))
    return await SmartApp.Benchmarks.MemoryBenchmark.RunAsync(
        typeof(LoadResult).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "DevHostAssembly").Value!, Arg("--samples", 200));

if (args.Contains("--files"))
    return await SmartApp.Benchmarks.FilesBenchmark.RunAsync(
        typeof(LoadResult).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "DevHostAssembly").Value!,
        typeof(LoadResult).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "SmartAppDirectory").Value!,
        Arg("--megabytes", 100), Arg("--samples", 100));

if (args.Contains("--chat"))
    return await SmartApp.Benchmarks.ChatBenchmark.RunAsync(
        typeof(LoadResult).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "DevHostAssembly").Value!,
        typeof(LoadResult).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "SmartAppDirectory").Value!,
        Arg("--turns", 30));

if (args.Contains("--webhooks"))
    return await SmartApp.Benchmarks.WebhookBenchmark.RunAsync(
        typeof(LoadResult).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "DevHostAssembly").Value!,
        typeof(LoadResult).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "SmartAppDirectory").Value!,
        Arg("--seconds", 15));

if (args.Contains("--search"))
    return await SmartApp.Benchmarks.SearchBenchmark.RunAsync(
        typeof(LoadResult).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "DevHostAssembly").Value!, Arg("--users", 10), Arg("--samples", 100));

if (args.Contains("--agents"))
    return await SmartApp.Benchmarks.AgentsBenchmark.RunAsync(
        typeof(LoadResult).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "DevHostAssembly").Value!,
        typeof(LoadResult).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "SmartAppDirectory").Value!,
        Arg("--samples", 100));

if (args.Contains("--learning"))
    return await SmartApp.Benchmarks.LearningBenchmark.RunAsync(
        typeof(LoadResult).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "DevHostAssembly").Value!,
        typeof(LoadResult).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "SmartAppDirectory").Value!,
        Arg("--turns", 30));

if (args.Contains("--data"))
    return await SmartApp.Benchmarks.DataBenchmark.RunAsync(
        typeof(LoadResult).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "DevHostAssembly").Value!, Arg("--samples", 100));

var launches = Arg("--launches", 7);
var seconds = Arg("--seconds", 15);
const int Concurrency = 16;

string Meta(string key) => typeof(LoadResult).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
var devHost = Meta("DevHostAssembly");
var smartApp = Meta("SmartAppDirectory");
var minimal = Meta("MinimalWorkerDirectory");

Console.WriteLine($"SmartApp benchmark — {Environment.ProcessorCount} cores, {launches} launches per app, {seconds} s of load at concurrency {Concurrency}");
Console.WriteLine("Starting the emulators (Azurite on 10000-10002, Cosmos on 8081)...");
await using var emulators = await DevHostProcess.StartAsync(devHost, ["--emulators-only"], TimeSpan.FromMinutes(5));

// Cold start, twice: from the build output (what 'dotnet run' serves) and published with
// ReadyToRun (what a deployment runs). Launches alternate so that machine noise hits both apps alike.
var (coldMinimal, coldSmartApp) = await ColdStartsAsync(minimal, smartApp);
Console.WriteLine("Publishing both apps with ReadyToRun (linux-x64)...");
var (coldMinimalR2R, coldSmartAppR2R) = await ColdStartsAsync(await PublishAsync(minimal), await PublishAsync(smartApp));

var minimalRps = await ThroughputAsync(minimal, "hello", token: null);
var smartAppRps = await ThroughputAsync(smartApp, "me", token: "demo");
var smartAppHealthRps = await ThroughputAsync(smartApp, "health", token: null);

var coldRatio = Median(coldSmartApp) / Median(coldMinimal);
var coldRatioR2R = Median(coldSmartAppR2R) / Median(coldMinimalR2R);
var rpsRatio = smartAppRps.Rps / minimalRps.Rps;
Console.WriteLine();
Console.WriteLine("| measure | minimal worker | SmartApp | ratio | target |");
Console.WriteLine("|---|---|---|---|---|");
Console.WriteLine($"| cold start, median of {launches} (ms) | {Median(coldMinimal):F0} | {Median(coldSmartApp):F0} | {coldRatio:F2}x | <= 1.5x: {(coldRatio <= 1.5 ? "met" : "MISSED")} |");
Console.WriteLine($"| cold start, min-max (ms) | {coldMinimal.Min():F0}-{coldMinimal.Max():F0} | {coldSmartApp.Min():F0}-{coldSmartApp.Max():F0} | | |");
Console.WriteLine($"| cold start published with ReadyToRun, median (ms) | {Median(coldMinimalR2R):F0} | {Median(coldSmartAppR2R):F0} | {coldRatioR2R:F2}x | <= 1.5x: {(coldRatioR2R <= 1.5 ? "met" : "MISSED")} |");
Console.WriteLine($"| cold start published with ReadyToRun, min-max (ms) | {coldMinimalR2R.Min():F0}-{coldMinimalR2R.Max():F0} | {coldSmartAppR2R.Min():F0}-{coldSmartAppR2R.Max():F0} | | |");
Console.WriteLine($"| requests/s at concurrency {Concurrency} | {minimalRps.Rps:F0} (GET /api/hello) | {smartAppRps.Rps:F0} (GET /api/me) | {rpsRatio:F2}x | >= 0.6x: {(rpsRatio >= 0.6 ? "met" : "MISSED")} |");
Console.WriteLine($"| requests/s, SmartApp GET /api/health (no auth, no storage: cached 2 s) | | {smartAppHealthRps.Rps:F0} | {smartAppHealthRps.Rps / minimalRps.Rps:F2}x | |");
Console.WriteLine($"| latency p50 / p95 (ms) | {minimalRps.P50:F1} / {minimalRps.P95:F1} | {smartAppRps.P50:F1} / {smartAppRps.P95:F1} | | |");
Console.WriteLine($"| errors | {minimalRps.Errors} | {smartAppRps.Errors} | | |");
return 0;

async Task<(List<double> Minimal, List<double> SmartApp)> ColdStartsAsync(string minimalApp, string smartAppApp)
{
    var (a, b) = (new List<double>(), new List<double>());
    for (var i = 0; i < launches; i++)
    {
        a.Add(await ColdStartAsync(minimalApp));
        b.Add(await ColdStartAsync(smartAppApp));
    }
    return (a, b);
}

// Publishes the project whose build output is appDirectory (bin/Release/net10.0 -> the project folder).
static async Task<string> PublishAsync(string appDirectory)
{
    var project = Directory.GetParent(appDirectory)!.Parent!.Parent!.FullName;
    var output = Directory.CreateTempSubdirectory("smartapp-bench-publish-").FullName;
    var start = new ProcessStartInfo("dotnet", ["publish", project, "-c", "Release", "-r", "linux-x64", "--self-contained", "false",
        "-p:PublishReadyToRun=true", "-o", output, "--nologo", "-v", "quiet"]);
    start.RedirectStandardOutput = start.RedirectStandardError = true;
    using var process = Process.Start(start)!;
    var log = process.StandardOutput.ReadToEndAsync();
    var errors = process.StandardError.ReadToEndAsync();
    await process.WaitForExitAsync();
    if (process.ExitCode != 0) throw new InvalidOperationException($"dotnet publish {project} failed:\n{await log}{await errors}");
    return output;
}

async Task<double> ColdStartAsync(string app)
{
    var started = Stopwatch.StartNew();
    var port = PortAllocator.FreePort();
    await using var host = DevHostProcess.Launch(devHost, ["--app", app, "--port", $"{port}"]);
    using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
    while (started.Elapsed < TimeSpan.FromSeconds(60))
    {
        try
        {
            using var response = await client.GetAsync($"http://127.0.0.1:{port}/api/health");
            if (response.IsSuccessStatusCode) return started.Elapsed.TotalMilliseconds;
        }
        catch (HttpRequestException) { }
        await Task.Delay(5);
    }
    throw new TimeoutException($"{app} did not answer /api/health within 60 s:\n{host.Output}");
}

async Task<LoadResult> ThroughputAsync(string app, string path, string? token)
{
    var port = PortAllocator.FreePort();
    // One user makes every request here: the per-user rate limit (600 a minute by default) is lifted so the figure is the app's own cost.
    await using var host = DevHostProcess.Launch(devHost, ["--app", app, "--port", $"{port}"], new Dictionary<string, string> { ["RateLimit__RequestsPerMinute"] = "1000000" });
    using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Concurrency }) { BaseAddress = new Uri($"http://127.0.0.1:{port}/api/"), Timeout = TimeSpan.FromSeconds(30) };
    await SmartApp.Benchmarks.Bench.WaitHealthyAsync(client);
    if (token is not null)
    {
        var signIn = await (await client.PostAsJsonAsync("auth/demo", new { email = "bench@smartapp.local" })).Content.ReadFromJsonAsync<JsonElement>();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", signIn.GetProperty("accessToken").GetString());
    }
    await RunLoadAsync(client, path, TimeSpan.FromSeconds(3)); // warm-up: JIT, connection pools
    return await RunLoadAsync(client, path, TimeSpan.FromSeconds(seconds));
}

static async Task<LoadResult> RunLoadAsync(HttpClient client, string path, TimeSpan duration)
{
    var latencies = new List<double>[Concurrency];
    var errors = 0;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(async worker =>
    {
        var mine = latencies[worker] = [];
        while (clock.Elapsed < duration)
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await client.GetAsync(path);
            await response.Content.LoadIntoBufferAsync();
            if (response.IsSuccessStatusCode) mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            else Interlocked.Increment(ref errors);
        }
    }));
    var all = latencies.SelectMany(l => l).Order().ToArray();
    return new LoadResult(all.Length / clock.Elapsed.TotalSeconds, Percentile(all, 0.50), Percentile(all, 0.95), errors);
}

static double Median(List<double> values) => Percentile(values.Order().ToArray(), 0.5);

static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var value) ? value : fallback;
}

internal sealed record LoadResult(double Rps, double P50, double P95, int Errors);
