using System.Collections.Concurrent;
using System.Net;

namespace SmartApp.Reliability;

/// <summary>What every request got, by route: latencies and the class of each answer.</summary>
public sealed class Outcomes
{
    /// <summary>The answers the app is designed to give besides success: each is a ProblemDetails (403: a member writing the organization's space without the permission).</summary>
    public static readonly IReadOnlySet<int> Designed = new HashSet<int> { 400, 401, 402, 403, 404, 409, 412, 413, 429, 503 };

    private readonly ConcurrentDictionary<string, ConcurrentBag<double>> _latencies = new();
    private readonly ConcurrentDictionary<string, int> _classes = new();
    private readonly ConcurrentQueue<string> _undesigned = new();

    public void Record(string route, double milliseconds, string outcome)
    {
        _latencies.GetOrAdd(route, _ => []).Add(milliseconds);
        _classes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
    }

    /// <summary>A status and body that are not a designed answer (a bare 500, a non-problem error body, a hang, a dropped connection).</summary>
    public void Undesigned(string route, string what)
    {
        _undesigned.Enqueue($"{route}: {what}");
        _classes.AddOrUpdate("undesigned", 1, (_, n) => n + 1);
    }

    /// <summary>
    /// The Functions host's empty 500: the worker went during the request (the fault program kills it once).
    /// Counted apart; more of them than requests that can be in flight at once is a failure.
    /// </summary>
    public void HostFailure(string route)
    {
        Interlocked.Increment(ref _hostFailures);
        _classes.AddOrUpdate("host 500 (worker lost)", 1, (_, n) => n + 1);
        _hostFailureRoutes.Enqueue(route);
    }

    private int _hostFailures;
    private readonly ConcurrentQueue<string> _hostFailureRoutes = new();

    public int HostFailures => _hostFailures;

    public IEnumerable<string> HostFailureRoutes => _hostFailureRoutes;

    public int Requests => _latencies.Values.Sum(l => l.Count);

    public int UndesignedCount => _undesigned.Count;

    public IEnumerable<string> UndesignedExamples => _undesigned.Take(20);

    public IReadOnlyDictionary<string, int> Classes => _classes;

    public IEnumerable<(string Route, int Count, double P50, double P95, double P99, double Max)> Routes =>
        _latencies.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r =>
        {
            var sorted = r.Value.Order().ToArray();
            double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
            return (r.Key, sorted.Length, At(0.50), At(0.95), At(0.99), sorted[^1]);
        });

    public static string ClassOf(HttpStatusCode status) => (int)status switch
    {
        >= 200 and < 300 => "2xx",
        var code => code.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
