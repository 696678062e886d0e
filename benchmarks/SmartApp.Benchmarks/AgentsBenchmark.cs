using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SmartApp.DevHost;
using SmartApp.Domain.Common.Search;
using SmartApp.Domain.Memory;

namespace SmartApp.Benchmarks;

/// <summary>
/// The MCP server's cost over the route it stands beside: one user with 10,000 memories, searched through
/// <c>POST /api/memory/search</c> and through MCP <c>tools/call</c> of <c>search_memory</c> (a stateless server per request,
/// the plan's tool-call count, the result bounded and sent as a server-sent event), alternately, through the dev host and worker.
/// </summary>
internal static class AgentsBenchmark
{
    private static readonly string[] Queries = MemoryBenchmark.Queries;

    public static async Task<int> RunAsync(string devHost, string smartApp, int samples)
    {
        Console.WriteLine($"Agents benchmark — {Environment.ProcessorCount} cores, {samples} samples per route, one user with 10,000 memories");
        await using var emulators = await DevHostProcess.StartAsync(devHost, ["--emulators-only"], TimeSpan.FromMinutes(5));
        var port = PortAllocator.FreePort();
        await using var host = DevHostProcess.Launch(devHost, ["--app", smartApp, "--port", $"{port}"], new Dictionary<string, string>
        {
            ["RateLimit__RequestsPerMinute"] = "1000000",
            ["Billing__Plans__free__Entitlements__ToolCallsPerDay"] = "1000000",
        });
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/api/"), Timeout = TimeSpan.FromMinutes(5) };
        await Bench.WaitHealthyAsync(client);
        var signIn = await (await client.PostAsJsonAsync("auth/demo", new { email = "agents-bench@smartapp.local" })).Content.ReadFromJsonAsync<JsonElement>();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", signIn.GetProperty("accessToken").GetString());
        var userId = signIn.GetProperty("user").GetProperty("id").GetString()!;
        await SeedAsync(emulators.State, userId, 10_000);

        async Task<double> RouteAsync(string query)
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await client.PostAsJsonAsync("memory/search", new { terms = query, limit = 10 });
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (!response.IsSuccessStatusCode || body.GetProperty("results").GetArrayLength() == 0) throw new InvalidOperationException($"memory search for '{query}': {(int)response.StatusCode} {body}");
            return elapsed;
        }

        var id = 0;
        async Task<double> McpAsync(string query)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "mcp")
            {
                Content = JsonContent.Create(query.Length == 0
                    ? new { jsonrpc = "2.0", id = ++id, method = "tools/list", @params = (object)new { } }
                    : new { jsonrpc = "2.0", id = ++id, method = "tools/call", @params = (object)new { name = "search_memory", arguments = new { query, limit = 10 } } }),
            };
            request.Headers.Accept.ParseAdd("application/json, text/event-stream");
            request.Headers.Add("MCP-Protocol-Version", "2025-06-18");
            var started = Stopwatch.GetTimestamp();
            using var response = await client.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (!response.IsSuccessStatusCode || !text.Contains(query.Length == 0 ? "\"tools\":[{" : "\"memories\":[{", StringComparison.Ordinal)) throw new InvalidOperationException($"MCP search: {(int)response.StatusCode} {text[..Math.Min(300, text.Length)]}");
            return elapsed;
        }

        for (var i = 0; i < 10; i++) { await RouteAsync(Queries[i]); await McpAsync(Queries[i]); } // warm-up: both paths compiled and cached
        var route = new List<double>();
        var mcp = new List<double>();
        var listing = new List<double>();
        var me = new List<double>();
        for (var i = 0; i < samples; i++)
        {
            var query = Queries[i % Queries.Length];
            // Alternate which goes first, so neither always meets a warmer cache.
            if (i % 2 == 0) { route.Add(await RouteAsync(query)); mcp.Add(await McpAsync(query)); }
            else { mcp.Add(await McpAsync(query)); route.Add(await RouteAsync(query)); }
            listing.Add(await McpAsync(""));
            var started = Stopwatch.GetTimestamp();
            using (var read = await client.GetAsync("me")) read.EnsureSuccessStatusCode();
            me.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        var ratio = Bench.Percentile(mcp, 0.5) / Bench.Percentile(route, 0.5);
        Console.WriteLine();
        Console.WriteLine("| measure (10,000 memories, limit 10) | p50 (ms) | p95 (ms) | target |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine($"| POST /api/memory/search | {Bench.Percentile(route, 0.5):F1} | {Bench.Percentile(route, 0.95):F1} | |");
        Console.WriteLine($"| GET /api/me (a signed-in request doing one cached read) | {Bench.Percentile(me, 0.5):F1} | {Bench.Percentile(me, 0.95):F1} | |");
        Console.WriteLine($"| MCP tools/list (the MCP server's own cost per request) | {Bench.Percentile(listing, 0.5):F1} | {Bench.Percentile(listing, 0.95):F1} | |");
        Console.WriteLine($"| MCP tools/call search_memory | {Bench.Percentile(mcp, 0.5):F1} | {Bench.Percentile(mcp, 0.95):F1} | p50 <= 1.3x the route: {ratio:F2}x {(ratio <= 1.3 ? "met" : "MISSED")} |");
        return 0;
    }

    /// <summary>Memories written through the app's own store (real embeddings), into the database the app under test uses.</summary>
    private static async Task SeedAsync(IReadOnlyDictionary<string, string> state, string userId, int count)
    {
        await using var provider = Bench.InProcess(state, (services, configuration) => services.AddMemory(configuration), databaseName: "smartapp");
        var store = provider.GetRequiredService<IMemoryStore>();
        var embedder = provider.GetRequiredService<IEmbedder>();
        var random = new Random(42);
        var watch = Stopwatch.StartNew();
        var sessionId = MemoryIds.NewSession();
        for (var seeded = 0; seeded < count;)
        {
            var batch = Enumerable.Range(0, Math.Min(64, count - seeded)).Select(_ => MemoryBenchmark.Sentence(random)).ToList();
            var embeddings = await embedder.EmbedAsync(batch, default);
            await Parallel.ForEachAsync(Enumerable.Range(0, batch.Count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, token) =>
            {
                var entry = new MemoryEntry(MemoryIds.ForWorking(sessionId, MemoryService.DefaultTimeline, null, batch[i]), MemoryKind.Working, batch[i], DateTimeOffset.UtcNow)
                {
                    SessionId = sessionId,
                    Timeline = MemoryService.DefaultTimeline,
                };
                await store.PutAsync(userId, new NewMemory(entry, embeddings[i]), token);
            });
            seeded += batch.Count;
        }
        Console.WriteLine($"  seeded {count:N0} memories in {watch.Elapsed.TotalSeconds:F0} s");
    }
}
