using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using SmartApp.DevHost;
using SmartApp.Domain.Data;
using SmartApp.Domain.Identity;

namespace SmartApp.Benchmarks;

/// <summary>Data, in process against the emulators: inserting 10,000 records into one table, then a filtered, ordered query over them.</summary>
internal static class DataBenchmark
{
    public static async Task<int> RunAsync(string devHost, int samples)
    {
        Console.WriteLine($"Data benchmark — {Environment.ProcessorCount} cores, 10,000 records, {samples} queries");
        await using var emulators = await DevHostProcess.StartAsync(devHost, ["--emulators-only"], TimeSpan.FromMinutes(5));
        await using var provider = Bench.InProcess(emulators.State, (services, configuration) => services.AddData(configuration));
        var data = provider.GetRequiredService<DataService>();
        var user = new CurrentUser("bench-data-" + Guid.NewGuid().ToString("N")[..8], null, null, false);
        string[] cities = ["Lisbon", "Porto", "Faro", "Braga", "Coimbra", "Evora", "Aveiro", "Leiria", "Viseu", "Setubal"];
        var random = new Random(3);

        var insert = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, 10_000), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, token) =>
        {
            var record = new JsonObject { ["name"] = $"person {i}", ["city"] = cities[i % cities.Length], ["age"] = 18 + (i * 7919 % 70), ["score"] = i % 1000 };
            await data.CreateAsync(user, null, "people", record, token);
        });
        var insertRate = 10_000 / insert.Elapsed.TotalSeconds;

        var latencies = new List<double>();
        for (var i = 0; i < samples + 5; i++)
        {
            var query = new TableQuery([new Filter("city", FilterOp.Eq, JsonSerializer.SerializeToElement(cities[random.Next(cities.Length)]))], [new Ordering("age", true)], null, 50, null);
            var started = Stopwatch.GetTimestamp();
            var page = await data.QueryAsync(user, null, "people", query, default);
            if (i >= 5) latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (page.Items.Count != 50) throw new InvalidOperationException("the query found too little");
        }
        var p50 = Bench.Percentile(latencies, 0.5);
        Console.WriteLine();
        Console.WriteLine("| measure | figure | target |");
        Console.WriteLine("|---|---|---|");
        Console.WriteLine($"| insert, 8 at a time (records/s) | {insertRate:F0} | |");
        Console.WriteLine($"| query `city eq …` ordered by `age` desc, first 50 of 1,000 matches in 10,000, p50 / p95 (ms) | {p50:F1} / {Bench.Percentile(latencies, 0.95):F1} | p50 <= 40 ms: {(p50 <= 40 ? "met" : "MISSED")} |");
        return 0;
    }
}
