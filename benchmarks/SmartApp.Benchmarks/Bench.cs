using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmartApp.Domain.Chat;
using SmartApp.Domain.Common.Storage;
using SmartApp.Domain.Model;

namespace SmartApp.Benchmarks;

/// <summary>What the benchmarks share: the app's services in this process against the emulators, percentiles, waiting for health.</summary>
internal static class Bench
{
    /// <summary>A service provider with the app's storage and model registrations plus <paramref name="add"/>, on a fresh database in the emulators <paramref name="state"/> describes.</summary>
    public static ServiceProvider InProcess(IReadOnlyDictionary<string, string> state, Func<IServiceCollection, IConfiguration, IServiceCollection> add, string? databaseName = null,
        IReadOnlyDictionary<string, string?>? settings = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["Cosmos:AccountEndpoint"] = state["Cosmos__AccountEndpoint"],
            ["Cosmos:AccountKey"] = state["Cosmos__AccountKey"],
            ["Cosmos:DatabaseName"] = databaseName ?? "bench" + Guid.NewGuid().ToString("N")[..8],
            ["Storage:ConnectionString"] = state["Storage__ConnectionString"],
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) values[key] = value;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection()
            .AddLogging(l => l.SetMinimumLevel(LogLevel.Warning))
            .AddStorage(configuration)
            .AddLanguageModel(configuration);
        return add(services, configuration).BuildServiceProvider();
    }

    public static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
    }

    public static async Task WaitHealthyAsync(HttpClient client)
    {
        for (var i = 0; i < 600; i++)
        {
            try { if ((await client.GetAsync("health")).IsSuccessStatusCode) return; } catch (HttpRequestException) { }
            await Task.Delay(50);
        }
        throw new TimeoutException("The app did not become healthy.");
    }
}
