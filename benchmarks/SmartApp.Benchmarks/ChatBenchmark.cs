using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmartApp.DevHost;
using SmartApp.Domain.Common.Search;
using SmartApp.Domain.Files;

namespace SmartApp.Benchmarks;

/// <summary>
/// Chat through the dev host and worker, against a fake OpenAI-compatible model in this process:
/// how long a token takes from the model's emitting it to the client's receiving it through the
/// SSE endpoint, and how long from request to the first <c>meta</c> event with memory and file
/// retrieval on for a user holding 10,000 file chunks (the reply stored as it streams, as every turn's is), and how long a
/// client that lost its connection waits, once it reconnects, for the first text it missed.
/// </summary>
internal static class ChatBenchmark
{
    private const string ApiKey = "bench-model-key";

    public static async Task<int> RunAsync(string devHost, string smartApp, int turns)
    {
        Console.WriteLine($"Chat benchmark — {Environment.ProcessorCount} cores, {turns} turns, 10,000 file chunks for the user");
        await using var emulators = await DevHostProcess.StartAsync(devHost, ["--emulators-only"], TimeSpan.FromMinutes(5));
        await using var model = await StartModelAsync();
        var port = PortAllocator.FreePort();
        await using var host = DevHostProcess.Launch(devHost, ["--app", smartApp, "--port", $"{port}"], new Dictionary<string, string>
        {
            ["Vultr__BaseUrl"] = model.Urls.Single() + "/v1",
            ["Vultr__ApiKey"] = ApiKey,
            // This model streams timing tokens, not learning's JSON: learning would fail and retry beside the turns. Its cost
            // to a turn is measured by --learning.
            ["Memory__Learning"] = "false",
        });
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/api/"), Timeout = TimeSpan.FromMinutes(5) };
        await Bench.WaitHealthyAsync(client);
        var signIn = await (await client.PostAsJsonAsync("auth/demo", new { email = "chat-bench@smartapp.local" })).Content.ReadFromJsonAsync<JsonElement>();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", signIn.GetProperty("accessToken").GetString());
        var userId = signIn.GetProperty("user").GetProperty("id").GetString()!;

        await SeedChunksAsync(emulators.State, userId);
        using (var session = await client.PostAsync("memory/sessions", null))
        {
            var sessionId = (await session.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("sessionId").GetString();
            foreach (var fact in new[] { "Prefers green tea", "Lives in Porto", "Has a dog called Biscuit" })
                using (await client.PostAsJsonAsync($"memory/sessions/{sessionId}/memories", new { content = fact })) { }
        }
        var conversation = (await (await client.PostAsJsonAsync("chat/conversations", new { title = "bench" })).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();

        var firstMeta = new List<double>();
        var relay = new List<double>();
        for (var turn = 0; turn < turns + 2; turn++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"chat/conversations/{conversation}/messages")
            {
                Content = JsonContent.Create(new { content = $"What does the warranty say about battery delivery, question {turn}?" }),
            };
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            var started = Stopwatch.GetTimestamp();
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            string? name = null;
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal)) name = line[7..];
                if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
                var now = Stopwatch.GetTimestamp();
                if (turn < 2) continue; // warm-up
                if (name == "meta") firstMeta.Add(Stopwatch.GetElapsedTime(started, now).TotalMilliseconds);
                if (name == "delta")
                {
                    // Each token carries the moment the model emitted it.
                    var text = JsonDocument.Parse(line[6..]).RootElement.GetProperty("text").GetString()!;
                    foreach (var token in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                        if (token.StartsWith('t') && long.TryParse(token[1..], NumberStyles.None, CultureInfo.InvariantCulture, out var emitted))
                            relay.Add(Stopwatch.GetElapsedTime(emitted, now).TotalMilliseconds);
                }
            }
        }

        // Resuming: a turn's connection dropped after 20 tokens, then the reply's stream opened again with the last event's id;
        // measured from that request to the first missed text (read from storage, the reply still being generated).
        var resume = new List<double>();
        for (var turn = 0; turn < Math.Max(10, turns / 2) + 2; turn++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"chat/conversations/{conversation}/messages")
            {
                Content = JsonContent.Create(new { content = $"Tell me about the kettle's delivery, resumed question {turn}", useMemory = false, useFiles = false }),
            };
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            string? replyId = null, lastId = null;
            using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
            using (var reader = new StreamReader(await response.Content.ReadAsStreamAsync()))
            {
                var deltas = 0;
                while (deltas < 20 && await reader.ReadLineAsync() is { } line)
                {
                    if (line.StartsWith("id: ", StringComparison.Ordinal)) lastId = line[4..];
                    if (line == "event: delta") deltas++;
                    if (line.StartsWith("data: {\"messageId\"", StringComparison.Ordinal))
                        replyId = JsonDocument.Parse(line[6..]).RootElement.GetProperty("replyId").GetString();
                }
            } // dropped
            using var again = new HttpRequestMessage(HttpMethod.Get, $"chat/conversations/{conversation}/messages/{replyId}/stream");
            again.Headers.Add("Last-Event-ID", lastId);
            var started = Stopwatch.GetTimestamp();
            using var resumed = await client.SendAsync(again, HttpCompletionOption.ResponseHeadersRead);
            using var resumedReader = new StreamReader(await resumed.Content.ReadAsStreamAsync());
            while (await resumedReader.ReadLineAsync() is { } line)
            {
                if (line != "event: delta" && line != "event: done") continue;
                if (turn >= 2) resume.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                break;
            }
            await resumedReader.ReadToEndAsync(); // let the reply finish before the next turn
        }

        Console.WriteLine();
        Console.WriteLine("| measure | p50 (ms) | p95 (ms) | target |");
        Console.WriteLine("|---|---|---|---|");
        var relayP50 = Bench.Percentile(relay, 0.5);
        var metaP50 = Bench.Percentile(firstMeta, 0.5);
        Console.WriteLine($"| token relay: model emits → client receives through SSE ({relay.Count} tokens) | {relayP50:F2} | {Bench.Percentile(relay, 0.95):F2} | p50 <= 5 ms: {(relayP50 <= 5 ? "met" : "MISSED")} |");
        Console.WriteLine($"| request → first `meta` event (memory + file retrieval over 10,000 chunks) | {metaP50:F1} | {Bench.Percentile(firstMeta, 0.95):F1} | p50 <= 150 ms: {(metaP50 <= 150 ? "met" : "MISSED")} |");
        var resumeP50 = Bench.Percentile(resume, 0.5);
        Console.WriteLine($"| reconnect with Last-Event-ID → first missed text, reply still streaming ({resume.Count} resumes) | {resumeP50:F1} | {Bench.Percentile(resume, 0.95):F1} | p50 <= 50 ms: {(resumeP50 <= 50 ? "met" : "MISSED")} |");
        return 0;
    }

    /// <summary>10 files of 1,000 chunks for the user, written where the app reads them.</summary>
    private static async Task SeedChunksAsync(IReadOnlyDictionary<string, string> state, string userId)
    {
        await using var provider = Bench.InProcess(state, (services, configuration) => services.AddFiles(configuration), databaseName: "smartapp");
        var store = provider.GetRequiredService<IFileStore>();
        var random = new Random(5);
        string[] words = "warranty battery delivery invoice kettle garden budget contract schedule refund policy river harvest".Split(' ');
        for (var f = 0; f < 10; f++)
        {
            var fileId = $"file_{Guid.NewGuid():N}";
            await store.CreateAsync(userId, new StoredFile(fileId, $"doc-{f}.txt", "text/plain", 1_000_000, DateTimeOffset.UtcNow) { Status = FileStatus.Indexed }, default);
            var chunks = Enumerable.Range(0, 1000).Select(i =>
            {
                var text = string.Join(' ', Enumerable.Range(0, 150).Select(_ => words[random.Next(words.Length)])) + ".";
                var vector = Vectors.Normalize(Enumerable.Range(0, 384).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray());
                return (new FileChunk($"chk_{fileId[5..]}_{i}", fileId, i, null, 0, text.Length, text), vector);
            }).ToList();
            await store.WriteChunksAsync(userId, fileId, chunks, default);
        }
    }

    /// <summary>An OpenAI-compatible model that streams 100 tokens, 5 ms apart, each naming the moment it was sent.</summary>
    private static async Task<WebApplication> StartModelAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapPost("/v1/chat/completions", async (HttpContext context) =>
        {
            var body = (await JsonNode.ParseAsync(context.Request.Body))!;
            context.Response.ContentType = "text/event-stream";
            for (var i = 0; i < 100; i++)
            {
                var chunk = new { id = "c", @object = "chat.completion.chunk", created = 0, model = "m", choices = new[] { new { index = 0, delta = new { content = $"t{Stopwatch.GetTimestamp()} " }, finish_reason = (string?)null } } };
                await context.Response.WriteAsync($"data: {JsonSerializer.Serialize(chunk)}\n\n");
                await context.Response.Body.FlushAsync();
                await Task.Delay(5);
            }
            if (body["stream_options"]?["include_usage"]?.GetValue<bool>() == true)
                await context.Response.WriteAsync("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":100,\"total_tokens\":110}}\n\n");
            await context.Response.WriteAsync("data: [DONE]\n\n");
        });
        await app.StartAsync();
        return app;
    }
}
