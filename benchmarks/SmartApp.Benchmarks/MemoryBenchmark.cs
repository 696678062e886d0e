using System.Diagnostics;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.DependencyInjection;
using SmartApp.DevHost;
using SmartApp.Domain.Common.Search;
using SmartApp.Domain.Common.Storage;
using SmartApp.Domain.Identity;
using SmartApp.Domain.Memory;

namespace SmartApp.Benchmarks;

/// <summary>
/// Memory, in process against the Cosmos emulator: put latency next to a direct Cosmos point write of
/// an item the same size, and search latency for one user holding 1k and then 10k memories.
/// </summary>
internal static class MemoryBenchmark
{
    private static readonly string[] Subjects = ["The user", "Their sister", "A colleague", "The landlord", "Our client", "The coach", "Grandpa", "The team lead"];
    private static readonly string[] Verbs = ["prefers", "mentioned", "asked about", "dislikes", "is planning", "recommended", "forgot", "booked"];
    private static readonly string[] Objects =
    [
        "green tea in the morning", "a trip to Kyoto", "the quarterly budget", "vegan restaurants", "a new road bike", "Spanish lessons",
        "the dentist appointment", "jazz concerts", "a cheaper phone plan", "the garden shed repairs", "running shoes", "a birthday present",
        "the overdue invoice", "sourdough baking", "a standing desk", "the kids' school trip", "chess openings", "an electric car",
    ];
    private static readonly string[] Whens = ["on Monday", "last week", "in April", "every weekend", "before the holidays", "after work", "tomorrow", "twice"];
    internal static readonly string[] Queries =
    [
        "what does the user like to drink", "travel plans in Japan", "money and bills", "food preferences", "sports equipment",
        "language learning", "health appointments", "music", "home improvements", "gifts",
    ];

    /// <summary>A memory of the kind people keep: who, what, about what, when.</summary>
    internal static string Sentence(Random random)
    {
        T Pick<T>(T[] items) => items[random.Next(items.Length)];
        return $"{Pick(Subjects)} {Pick(Verbs)} {Pick(Objects)} {Pick(Whens)} (note {random.Next(1_000_000)})";
    }

    public static async Task<int> RunAsync(string devHost, int samples)
    {
        Console.WriteLine($"Memory benchmark — {Environment.ProcessorCount} cores, {samples} samples per measure, in process against the emulators");
        await using var emulators = await DevHostProcess.StartAsync(devHost, ["--emulators-only"], TimeSpan.FromMinutes(5));
        await using var provider = Bench.InProcess(emulators.State, (services, configuration) => services.AddMemory(configuration));
        var memory = provider.GetRequiredService<MemoryService>();
        var store = provider.GetRequiredService<IMemoryStore>();
        var embedder = provider.GetRequiredService<IEmbedder>();
        var cosmos = provider.GetRequiredService<CosmosStore>();
        var container = await cosmos.GetContainerAsync(CosmosContainers.Memories, default);
        var random = new Random(42);
        string Sentence() => MemoryBenchmark.Sentence(random);

        // Put: the service (validation, session check, embedding, deduplicating write) vs a direct point write of the same shape.
        var user = new CurrentUser("bench-put-" + Guid.NewGuid().ToString("N")[..8], null, null, false);
        var session = await memory.StartSessionAsync(user, default);
        for (var i = 0; i < 20; i++) await memory.PutAsync(user, session.Id, Sentence(), null, null, null, default); // warm-up
        var put = new List<double>();
        var direct = new List<double>();
        var embedOnly = new List<double>();
        var sampleEmbedding = (await embedder.EmbedAsync([Sentence()], default))[0];
        for (var i = 0; i < samples; i++)
        {
            var content = Sentence();
            var started = Stopwatch.GetTimestamp();
            await embedder.EmbedAsync([Sentence()], default);
            embedOnly.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            started = Stopwatch.GetTimestamp();
            await memory.PutAsync(user, session.Id, content, null, null, null, default);
            put.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);

            var id = "direct_" + Guid.NewGuid().ToString("N");
            var item = new { id, userId = user.UserId, shard = CosmosContainers.ShardOf(id), type = "bench", content = Sentence(), at = DateTimeOffset.UtcNow, vector = sampleEmbedding };
            started = Stopwatch.GetTimestamp();
            await container.CreateItemAsync(item, CosmosContainers.Memories.ShardedKey(user.UserId, id), new ItemRequestOptions { EnableContentResponseOnWrite = false });
            direct.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        // Search: one user with 1k, then 10k memories (seeded through the store with real embeddings).
        var searcher = new CurrentUser("bench-search-" + Guid.NewGuid().ToString("N")[..8], null, null, false);
        var searchSession = await memory.StartSessionAsync(searcher, default);
        var rows = new List<(int Memories, double First, double P50, double P95)>();
        var seeded = 0;
        foreach (var target in new[] { 1_000, 10_000 })
        {
            var seedWatch = Stopwatch.StartNew();
            while (seeded < target)
            {
                var batch = Enumerable.Range(0, Math.Min(64, target - seeded)).Select(_ => Sentence()).ToList();
                var embeddings = await embedder.EmbedAsync(batch, default);
                await Parallel.ForEachAsync(Enumerable.Range(0, batch.Count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, token) =>
                {
                    var entry = new MemoryEntry(MemoryIds.ForWorking(searchSession.Id, MemoryService.DefaultTimeline, null, batch[i]), MemoryKind.Working, batch[i], DateTimeOffset.UtcNow)
                    {
                        SessionId = searchSession.Id,
                        Timeline = MemoryService.DefaultTimeline,
                    };
                    await store.PutAsync(searcher.UserId, new NewMemory(entry, embeddings[i]), token);
                });
                seeded += batch.Count;
            }
            Console.WriteLine($"  seeded {seeded} memories in {seedWatch.Elapsed.TotalSeconds:F0} s");

            // The first search after the writes brings this instance's index up to date (at 1k: loads it).
            var first = Stopwatch.GetTimestamp();
            await memory.SearchAsync(searcher, Queries[0], null, null, null, 10, default, default);
            var firstMs = Stopwatch.GetElapsedTime(first).TotalMilliseconds;
            var latencies = new List<double>();
            for (var i = 0; i < samples; i++)
            {
                var started = Stopwatch.GetTimestamp();
                var hits = await memory.SearchAsync(searcher, Queries[i % Queries.Length], null, null, null, 10, default, default);
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (hits.Count == 0) throw new InvalidOperationException("search found nothing");
            }
            rows.Add((target, firstMs, Bench.Percentile(latencies, 0.5), Bench.Percentile(latencies, 0.95)));
        }

        var putRatio = Bench.Percentile(put, 0.5) / Bench.Percentile(direct, 0.5);
        Console.WriteLine();
        Console.WriteLine("| measure | p50 (ms) | p95 (ms) | target |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine($"| direct Cosmos point write (same item shape) | {Bench.Percentile(direct, 0.5):F1} | {Bench.Percentile(direct, 0.95):F1} | |");
        Console.WriteLine($"| memory put (validation, open-session check, embedding, deduplicating write) | {Bench.Percentile(put, 0.5):F1} | {Bench.Percentile(put, 0.95):F1} | p50 <= 2.5x direct: {putRatio:F2}x {(putRatio <= 2.5 ? "met" : "MISSED")} |");
        Console.WriteLine($"| embedding one memory alone (local MiniLM) | {Bench.Percentile(embedOnly, 0.5):F1} | {Bench.Percentile(embedOnly, 0.95):F1} | |");
        foreach (var row in rows)
            Console.WriteLine($"| search, {row.Memories:N0} memories (first search after seeding: {row.First:F0} ms) | {row.P50:F1} | {row.P95:F1} | {(row.Memories == 10_000 ? $"p50 <= 60 ms: {(row.P50 <= 60 ? "met" : "MISSED")}" : "")} |");
        return 0;
    }
}
