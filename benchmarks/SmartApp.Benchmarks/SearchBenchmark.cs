using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using SmartApp.DevHost;
using SmartApp.Domain.Common.Search;
using SmartApp.Domain.Files;
using SmartApp.Domain.Identity;

namespace SmartApp.Benchmarks;

/// <summary>
/// The two search engines side by side, on the same data in the Cosmos emulator: users of 20,000 passages each
/// (20 files of 1,000), searched by a fresh instance of the app's services per engine (as a cold worker would):
/// each user's first search, steady searches, and how much this process's resident memory grew.
/// </summary>
internal static class SearchBenchmark
{
    private static readonly string[] Queries = ["warranty for the kettle", "quarterly budget meeting", "server backup schedule", "refund policy for delivery", "garden harvest weather"];

    public static async Task<int> RunAsync(string devHost, int users, int samples)
    {
        Console.WriteLine($"Search benchmark — {Environment.ProcessorCount} cores; {users} users of 20,000 passages; {samples} steady searches per engine");
        await using var emulators = await DevHostProcess.StartAsync(devHost, ["--emulators-only"], TimeSpan.FromMinutes(5));
        var database = "bench" + Guid.NewGuid().ToString("N")[..8];
        var owners = await SeedAsync(emulators.State, database, users);

        var rows = new List<(string Engine, double FirstP50, double FirstMax, double SteadyP50, double SteadyP95, double GrowthMb)>();
        foreach (var engine in new[] { SearchEngineKind.Native, SearchEngineKind.InProcess })
            rows.Add(await MeasureAsync(emulators.State, database, engine, owners, samples));

        Console.WriteLine();
        Console.WriteLine("| engine | first search of a user, p50 / worst of " + users + " (ms) | steady search p50 / p95 (ms) | resident memory growth after " + users + " users (MB) |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var row in rows)
            Console.WriteLine($"| {row.Engine} | {row.FirstP50:F0} / {row.FirstMax:F0} | {row.SteadyP50:F1} / {row.SteadyP95:F1} | {row.GrowthMb:F0} |");
        var native = rows[0];
        Console.WriteLine();
        Console.WriteLine($"Targets, native engine: first search p50 <= 300 ms: {(native.FirstP50 <= 300 ? "met" : "MISSED")}; steady p50 <= 60 ms: {(native.SteadyP50 <= 60 ? "met" : "MISSED")}; memory growth <= 100 MB: {(native.GrowthMb <= 100 ? "met" : "MISSED")}");
        return 0;
    }

    private static async Task<List<CurrentUser>> SeedAsync(IReadOnlyDictionary<string, string> state, string database, int users)
    {
        await using var provider = Bench.InProcess(state, (services, configuration) => services.AddFiles(configuration), database);
        var store = provider.GetRequiredService<IFileStore>();
        var random = new Random(17);
        var owners = new List<CurrentUser>();
        var seed = Stopwatch.StartNew();
        for (var u = 0; u < users; u++)
        {
            var user = new CurrentUser($"bench-search-{u}-{Guid.NewGuid():N}"[..32], null, null, false);
            owners.Add(user);
            for (var f = 0; f < 20; f++)
            {
                var fileId = $"file_{Guid.NewGuid():N}";
                await store.CreateAsync(user.UserId, new StoredFile(fileId, $"doc-{f}.txt", "text/plain", 1_000_000, DateTimeOffset.UtcNow) { Status = FileStatus.Indexed }, default);
                // Random unit vectors: ranking costs the same whatever the values, and embedding 20 MB of text per user would take minutes.
                var chunks = Enumerable.Range(0, 1000).Select(i =>
                {
                    var text = FilesBenchmark.Prose(random, 1000);
                    var vector = Vectors.Normalize(Enumerable.Range(0, 384).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray());
                    return (new FileChunk($"chk_{fileId[5..]}_{i}", fileId, i, null, 0, text.Length, text), vector);
                }).ToList();
                await store.WriteChunksAsync(user.UserId, fileId, chunks, default);
            }
            Console.WriteLine($"  seeded user {u + 1} of {users} ({seed.Elapsed.TotalSeconds:F0} s)");
        }
        return owners;
    }

    private static async Task<(string, double, double, double, double, double)> MeasureAsync(
        IReadOnlyDictionary<string, string> state, string database, SearchEngineKind engine, List<CurrentUser> owners, int samples)
    {
        await using var provider = Bench.InProcess(state, (services, configuration) => services.AddFiles(configuration), database,
            new Dictionary<string, string?> { ["Search:Engine"] = engine.ToString() });
        var service = provider.GetRequiredService<FileService>();
        // The embedding model and the Cosmos client are loaded by a search of a user of nothing: what either engine needs, not what it holds.
        await service.SearchAsync(new CurrentUser("bench-search-nobody", null, null, false), "warm up the embedding model", null, 10, default);
        var before = ResidentMegabytes();
        var first = new List<double>();
        foreach (var owner in owners)
        {
            var started = Stopwatch.GetTimestamp();
            await service.SearchAsync(owner, Queries[first.Count % Queries.Length], null, 10, default);
            first.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        var steady = new List<double>();
        for (var i = 0; i < samples; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var hits = await service.SearchAsync(owners[i % owners.Count], Queries[i % Queries.Length], null, 10, default);
            steady.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (hits.Count == 0) throw new InvalidOperationException("search found nothing");
        }
        var growth = ResidentMegabytes() - before;
        Console.WriteLine($"  {engine}: measured");
        return (engine.ToString(), Bench.Percentile(first, 0.5), first.Max(), Bench.Percentile(steady, 0.5), Bench.Percentile(steady, 0.95), growth);
    }

    /// <summary>This process's resident memory after a full collection (what it holds, not garbage waiting).</summary>
    private static double ResidentMegabytes()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        using var self = Process.GetCurrentProcess();
        return self.WorkingSet64 / (1024.0 * 1024);
    }
}
