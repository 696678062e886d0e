using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using SmartApp.DevHost;
using SmartApp.Fakes;

namespace SmartApp.Benchmarks;

/// <summary>
/// A chat turn's latency with learning on and off: the same turns (each stating a fact, so learning extracts, searches, decides
/// and writes after every turn) through the dev host and worker against the fake model, from the request to the <c>done</c> event.
/// Learning runs on the queue after the turn; this measures what it costs the turn (the queue message, and the instance it shares).
/// </summary>
internal static class LearningBenchmark
{
    public static async Task<int> RunAsync(string devHost, string smartApp, int turns)
    {
        Console.WriteLine($"Learning benchmark — {Environment.ProcessorCount} cores, {turns} turns each way, every turn states a fact");
        await using var emulators = await DevHostProcess.StartAsync(devHost, ["--emulators-only"], TimeSpan.FromMinutes(5));
        await using var model = await FakeVultr.StartAsync();
        var results = new Dictionary<bool, List<double>>();
        foreach (var learning in new[] { false, true })
        {
            var port = PortAllocator.FreePort();
            await using var host = DevHostProcess.Launch(devHost, ["--app", smartApp, "--port", $"{port}"], new Dictionary<string, string>
            {
                ["Vultr__BaseUrl"] = model.BaseUrl,
                ["Vultr__ApiKey"] = FakeVultr.ApiKey,
                ["Vultr__Model"] = "e2e-model",
                ["Memory__Learning"] = learning ? "true" : "false",
            });
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/api/"), Timeout = TimeSpan.FromMinutes(5) };
            await Bench.WaitHealthyAsync(client);
            var learned = model.LearningRequests.Count;
            var latencies = new List<double>();
            // A new user every three turns: each user's facts stay few, as a real user's are after a few turns.
            for (var turn = 0; turn < turns + 3; turn++)
            {
                if (turn % 3 == 0) await SignInAsync(client, $"learning-bench-{learning}-{turn}@smartapp.local");
                var conversation = (await (await client.PostAsJsonAsync("chat/conversations", new { title = "bench" })).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
                var started = Stopwatch.GetTimestamp();
                await TurnAsync(client, conversation!, Statements[turn % Statements.Length]);
                if (turn >= 3) latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds); // the first three warm up
            }
            results[learning] = latencies;
            Console.WriteLine($"learning {(learning ? "on" : "off")}: {model.LearningRequests.Count - learned} learning requests to the model during the run");
        }

        Console.WriteLine();
        Console.WriteLine("| chat turn, request → done | p50 (ms) | p95 (ms) |");
        Console.WriteLine("|---|---|---|");
        foreach (var (learning, latencies) in results)
            Console.WriteLine($"| learning {(learning ? "on" : "off")} | {Bench.Percentile(latencies, 0.5):F1} | {Bench.Percentile(latencies, 0.95):F1} |");
        var ratio = Bench.Percentile(results[true], 0.5) / Bench.Percentile(results[false], 0.5);
        Console.WriteLine($"p50 on / off: {ratio:F2}x (target <= 1.10x: {(ratio <= 1.10 ? "met" : "MISSED")})");
        return 0;
    }

    private static readonly string[] Statements =
    [
        "I live in Lisbon, what should I see this weekend?", "I work at Contoso; how do I ask for a raise?", "I really like green tea. Any brands to try?",
        "I moved to Porto last month; where can I find a quiet café?", "I have a dog called Biscuit; which parks allow dogs?", "I'm learning Portuguese, any tips?",
    ];

    private static async Task SignInAsync(HttpClient client, string email)
    {
        client.DefaultRequestHeaders.Authorization = null;
        var signIn = await (await client.PostAsJsonAsync("auth/demo", new { email })).Content.ReadFromJsonAsync<JsonElement>();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", signIn.GetProperty("accessToken").GetString());
    }

    private static async Task TurnAsync(HttpClient client, string conversation, string content)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"chat/conversations/{conversation}/messages") { Content = JsonContent.Create(new { content }) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode || !body.Contains("event: done", StringComparison.Ordinal))
            throw new InvalidOperationException($"The turn did not finish: {(int)response.StatusCode} {body[..Math.Min(body.Length, 300)]}");
    }
}
