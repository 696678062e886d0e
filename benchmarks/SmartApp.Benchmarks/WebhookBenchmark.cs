using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SmartApp.DevHost;

namespace SmartApp.Benchmarks;

/// <summary>
/// Stripe webhooks through the dev host and worker, each a distinct signed event that makes the
/// app read the subscription from a fake Stripe API (answering at once) and store the result:
/// p50/p95 and events per second at concurrency 8.
/// </summary>
internal static class WebhookBenchmark
{
    private const string Secret = "whsec_bench", Key = "sk_test_bench";

    public static async Task<int> RunAsync(string devHost, string smartApp, int seconds)
    {
        Console.WriteLine($"Webhook benchmark — {Environment.ProcessorCount} cores, {seconds} s at concurrency 8, then at 1");
        await using var emulators = await DevHostProcess.StartAsync(devHost, ["--emulators-only"], TimeSpan.FromMinutes(5));
        await using var stripe = await StartStripeAsync();
        var port = PortAllocator.FreePort();
        await using var host = DevHostProcess.Launch(devHost, ["--app", smartApp, "--port", $"{port}"], new Dictionary<string, string>
        {
            ["Billing__StripeApiBase"] = stripe.Urls.Single(),
            ["Billing__StripeSecretKey"] = Key,
            ["Billing__StripeWebhookSecret"] = Secret,
        });
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 8 }) { BaseAddress = new Uri($"http://127.0.0.1:{port}/api/") };
        await Bench.WaitHealthyAsync(client);
        var signIn = await (await client.PostAsJsonAsync("auth/demo", new { email = "webhook-bench@smartapp.local" })).Content.ReadFromJsonAsync<JsonElement>();
        var userId = signIn.GetProperty("user").GetProperty("id").GetString()!;

        await RunAsync(client, userId, TimeSpan.FromSeconds(3), 8); // warm-up
        var (latencies, errors, elapsed) = await RunAsync(client, userId, TimeSpan.FromSeconds(seconds), 8);
        var (single, singleErrors, singleElapsed) = await RunAsync(client, userId, TimeSpan.FromSeconds(seconds), 1);
        var p50 = Bench.Percentile(latencies, 0.5);
        Console.WriteLine();
        Console.WriteLine("| measure | figure | target |");
        Console.WriteLine("|---|---|---|");
        Console.WriteLine($"| webhook p50 / p95 (ms), concurrency 8 | {p50:F1} / {Bench.Percentile(latencies, 0.95):F1} | p50 <= 30 ms: {(p50 <= 30 ? "met" : "MISSED")} |");
        Console.WriteLine($"| events applied per second, concurrency 8 | {latencies.Count / elapsed.TotalSeconds:F0} ({latencies.Count} events, {errors} errors) | |");
        Console.WriteLine($"| webhook p50 / p95 (ms), concurrency 1 | {Bench.Percentile(single, 0.5):F1} / {Bench.Percentile(single, 0.95):F1} | |");
        Console.WriteLine($"| events applied per second, concurrency 1 | {single.Count / singleElapsed.TotalSeconds:F0} ({single.Count} events, {singleErrors} errors) | |");
        return 0;
    }

    private static async Task<(List<double> Latencies, int Errors, TimeSpan Elapsed)> RunAsync(HttpClient client, string userId, TimeSpan duration, int concurrency)
    {
        var latencies = new List<double>();
        var errors = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (clock.Elapsed < duration)
            {
                var body = new JsonObject
                {
                    ["id"] = "evt_" + Guid.NewGuid().ToString("N"), ["object"] = "event", ["api_version"] = "2026-10-28.endive", ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
                    ["livemode"] = false, ["pending_webhooks"] = 1, ["type"] = "customer.subscription.updated",
                    ["data"] = new JsonObject { ["object"] = Subscription("sub_bench", userId) },
                }.ToJsonString();
                var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
                var signature = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes($"{timestamp}.{body}")));
                using var request = new HttpRequestMessage(HttpMethod.Post, "billing/webhook") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                request.Headers.TryAddWithoutValidation("Stripe-Signature", $"t={timestamp},v1={signature}");
                var started = Stopwatch.GetTimestamp();
                using var response = await client.SendAsync(request);
                var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (response.IsSuccessStatusCode) lock (latencies) latencies.Add(ms);
                else Interlocked.Increment(ref errors);
            }
        }));
        return (latencies, errors, clock.Elapsed);
    }

    private static JsonObject Subscription(string id, string userId) => new()
    {
        ["id"] = id, ["object"] = "subscription", ["customer"] = "cus_bench", ["status"] = "active", ["cancel_at_period_end"] = false,
        ["metadata"] = new JsonObject { ["userId"] = userId },
        ["items"] = new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(new JsonObject
            {
                ["id"] = "si_bench", ["object"] = "subscription_item", ["current_period_end"] = DateTimeOffset.UtcNow.AddDays(30).ToUnixTimeSeconds(),
                ["price"] = new JsonObject { ["id"] = "price_pro_monthly", ["object"] = "price" },
            }),
        },
    };

    /// <summary>Stripe's subscription read, answering at once.</summary>
    private static async Task<WebApplication> StartStripeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapGet("/v1/subscriptions/{id}", (string id, HttpRequest request) =>
            Results.Content(Subscription(id, "").ToJsonString().Replace("\"userId\":\"\"", "\"userId\":null"), "application/json"));
        await app.StartAsync();
        return app;
    }
}
