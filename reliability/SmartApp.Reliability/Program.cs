// SmartApp's load and fault program: N simulated users for T seconds across every capability,
// through the dev host and the real worker (Azurite, the Cosmos emulator, fake model, fake Stripe,
// fake Raindrop on loopback), while faults are injected (see Faults.cs). Afterwards every
// acknowledged write is read back. It prints a table and exits non-zero on any lost write,
// duplicate, cross-user leak, or answer that is not a designed ProblemDetails.
// Usage: dotnet run --project reliability/SmartApp.Reliability [-- --users 16 --seconds 60]
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using SmartApp.DevHost;
using SmartApp.Fakes;
using SmartApp.Reliability;

var users = Arg("--users", 16);
var seconds = Arg("--seconds", 60);
var requestTimeout = TimeSpan.FromSeconds(60);
var clock = Stopwatch.StartNew();
void Log(string line) => Console.WriteLine($"[{clock.Elapsed.TotalSeconds,6:F1} s] {line}");

Console.WriteLine($"SmartApp load and faults — {users} users, {seconds} s, {Environment.ProcessorCount} cores");
await using var model = await FakeVultr.StartAsync();
await using var stripe = await FakeStripe.StartAsync();
await using var raindrop = await FakeRaindrop.StartAsync();
var devHost = typeof(Outcomes).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "DevHostAssembly").Value!;
const string Plenty = "100000000";
// Two workers, as two instances would be: requests and queue messages spread across them, one of them killed mid-run.
await using var host = await DevHostProcess.StartAsync(devHost, ["--emulators", "--port", "0", "--workers", "2", "--timing", "processStartupInterval=2"], TimeSpan.FromMinutes(5), new Dictionary<string, string>
{
    ["Vultr__BaseUrl"] = model.BaseUrl,
    ["Vultr__ApiKey"] = FakeVultr.ApiKey,
    ["Vultr__Model"] = "e2e-model", // one the fake Vultr serves
    ["Vultr__RequestTimeout"] = "00:00:05",
    ["Chat__FirstTokenTimeout"] = "00:00:05",
    ["Chat__IdleTimeout"] = "00:00:03",
    ["Billing__StripeApiBase"] = stripe.BaseUrl,
    ["Billing__StripeSecretKey"] = FakeStripe.SecretKey,
    ["Billing__StripeWebhookSecret"] = FakeStripe.WebhookSecret,
    ["RateLimit__RequestsPerMinute"] = "100000",
    // Events the webhook never receives are recovered from Stripe's events list, under the same faults.
    ["Billing__EventRecoverySchedule"] = "*/2 * * * * *",
    ["Cosmos__MigrationSchedule"] = "*/2 * * * * *", // the stored data migration runs through the faults too (LegacyData)
    // Plans large enough that quotas never stand in for faults here (they have their own tests).
    ["Billing__Plans__free__Entitlements__MessagesPerDay"] = Plenty,
    ["Billing__Plans__free__Entitlements__TokensPerMonth"] = Plenty,
    ["Billing__Plans__free__Entitlements__Files"] = Plenty,
    ["Billing__Plans__free__Entitlements__StorageBytes"] = "100000000000",
    ["Billing__Plans__free__Entitlements__Memories"] = Plenty,
    ["Billing__Plans__free__Entitlements__Records"] = Plenty,
    ["Billing__Plans__pro__Entitlements__MessagesPerDay"] = Plenty,
    ["Billing__Plans__pro__Entitlements__TokensPerMonth"] = Plenty,
    ["Billing__Plans__pro__Entitlements__Files"] = Plenty,
    ["Billing__Plans__pro__Entitlements__StorageBytes"] = "100000000000",
    ["Billing__Plans__pro__Entitlements__Memories"] = Plenty,
    ["Billing__Plans__pro__Entitlements__Records"] = Plenty,
    ["Memory__Provider"] = "Raindrop",
    ["Files__Provider"] = "Raindrop",
    ["Data__Provider"] = "Raindrop",
    ["Raindrop__BaseUrl"] = raindrop.BaseUrl,
    ["Raindrop__ApiKey"] = FakeRaindrop.ApiKey,
    ["Raindrop__Version"] = "01jtryx2f2f61ryk06vd8mr91p", // required with a key; the fake refuses locations without one
    ["Raindrop__MirrorSchedule"] = "* * * * * *",
    ["Raindrop__MirrorMaxBackoff"] = "00:00:05",
    ["Raindrop__ReadTimeout"] = "00:00:02",
    ["Raindrop__AttemptTimeout"] = "00:00:05",
    ["Raindrop__BreakDuration"] = "00:00:05",
});
var apiUrl = new Uri(host.State["apiUrl"] + "/");
Log($"app up at {apiUrl}");

var outcomes = new Outcomes();
var leaks = new ConcurrentQueue<string>();
var spaceLeaks = new ConcurrentQueue<string>();
var simulated = new List<(SimulatedUser User, Api Api)>();
// Two organizations: every third user belongs to none; the others alternate between them, as an admin (who may write
// the organization's files) or a member (who reads them, and is refused writing them).
string[] organizations = ["org_load0" + Guid.NewGuid().ToString("N")[..12], "org_load1" + Guid.NewGuid().ToString("N")[..12]];
using (var anonymous = new HttpClient { BaseAddress = apiUrl })
{
    for (var i = 0; i < users; i++)
    {
        var membership = i % 3 == 0 ? null : new SimulatedUser.Membership(i % 2, i % 3 == 1 ? "admin" : "member");
        var email = $"load-{i}-{Guid.NewGuid():N}@load.test";
        using var signIn = await anonymous.PostAsJsonAsync("auth/demo", membership is null
            ? new { email, name = $"Load {i}" }
            : (object)new { email, name = $"Load {i}", organizationId = organizations[membership.Organization], role = membership.Role });
        var body = await signIn.Content.ReadFromJsonAsync<JsonElement>();
        var http = new HttpClient { BaseAddress = apiUrl, Timeout = requestTimeout };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", body.GetProperty("accessToken").GetString());
        var api = new Api(http, outcomes);
        simulated.Add((new SimulatedUser(i, api, body.GetProperty("user").GetProperty("id").GetString()!, stripe, leaks, membership, spaceLeaks), api));
    }
}
await LegacyData.SeedAsync(host.State, simulated.Select(s => s.User.UserId));
await Task.WhenAll(simulated.Select(s => s.User.StartAsync(CancellationToken.None)));
SimulatedUser.PrepareAttacks(); // the bombs take seconds of CPU to make: not inside the measured load
Log($"{users} users signed in; load starts");

var until = DateTime.UtcNow.AddSeconds(seconds);
await using var faults = new Faults(host, model, raindrop, TimeSpan.FromSeconds(seconds), Log);
using var stop = new CancellationTokenSource();
var faulting = faults.RunAsync(stop.Token);
await Task.WhenAll(simulated.Select(s => s.User.RunAsync(until, CancellationToken.None)));
stop.Cancel();
try { await faulting; } catch (OperationCanceledException) { /* the run ended first */ }
model.Failure = FakeModelFailure.None;
raindrop.Fault = FakeRaindropFault.None;
Log($"load done: {outcomes.Requests} requests; verifying acknowledged writes");

// Events published at Stripe but never delivered: the recovery timer must have looked at the events list since the load ended.
var listReads = stripe.EventListReads;
for (var waited = 0; stripe.EventListReads < listReads + 3 && waited < 600; waited++) await Task.Delay(100);
var verifiers = simulated.Select(s => new Verifier(s.User, s.Api, Log)).ToList();
var unfinished = new List<string>();
try
{
    await Task.WhenAll(verifiers.Select(v => v.RunAsync(CancellationToken.None))).WaitAsync(TimeSpan.FromMinutes(10));
    Log("verified");
}
catch (TimeoutException)
{
    unfinished.AddRange(verifiers.Where(v => v.Step != "done").Select(v => $"verification did not finish within 10 minutes ({v.Step})"));
}
// Records written in the previous release's shape before the load, moved by the migration under the faults.
var legacy = await Task.WhenAll(simulated.Select(s => LegacyData.VerifyAsync(s.Api, s.User.UserId)));
Log($"legacy records verified: {legacy.Sum(l => l.Verified)} of {simulated.Count * LegacyData.RecordsPerUser}");

// ---- The report ---------------------------------------------------------------------------
Console.WriteLine();
Console.WriteLine($"| Route | Requests | p50 ms | p95 ms | p99 ms | max ms |");
Console.WriteLine($"|---|---:|---:|---:|---:|---:|");
foreach (var r in outcomes.Routes)
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {r.Route} | {r.Count} | {r.P50:F1} | {r.P95:F1} | {r.P99:F1} | {r.Max:F0} |"));
Console.WriteLine();
Console.WriteLine("| Answer | Count |");
Console.WriteLine("|---|---:|");
foreach (var (answer, count) in outcomes.Classes.OrderBy(c => c.Key, StringComparer.Ordinal)) Console.WriteLine($"| {answer} | {count} |");
var lost = verifiers.SelectMany(v => v.Lost).Concat(legacy.SelectMany(l => l.Lost)).ToList();
var duplicated = verifiers.SelectMany(v => v.Duplicated).ToList();
Console.WriteLine();
Console.WriteLine($"| Check | Result |");
Console.WriteLine($"|---|---:|");
Console.WriteLine($"| requests | {outcomes.Requests} |");
Console.WriteLine($"| acknowledged writes verified | {verifiers.Sum(v => v.Verified)} |");
Console.WriteLine($"| legacy records moved by the migration and read back | {legacy.Sum(l => l.Verified)} of {simulated.Count * LegacyData.RecordsPerUser} |");
Console.WriteLine($"| lost writes | {lost.Count} |");
Console.WriteLine($"| duplicated writes | {duplicated.Count} |");
Console.WriteLine($"| cross-user leaks | {leaks.Count} |");
Console.WriteLine($"| cross-space leaks (an organization's files, records or memories seen outside it) | {spaceLeaks.Count} |");
Console.WriteLine($"| organization files written by admins, verified with each uploader's own | {simulated.Sum(s => s.User.OrganizationFiles)} |");
Console.WriteLine($"| undesigned answers (not a designed ProblemDetails, or no answer within {requestTimeout.TotalSeconds:F0} s) | {outcomes.UndesignedCount} |");
// Killing the worker ends the requests in flight on it with the host's empty 500, at most one per user.
var hostFailuresBeyond = Math.Max(0, outcomes.HostFailures - users);
Console.WriteLine($"| host 500s when the worker was killed (at most one per user) | {outcomes.HostFailures} |");
foreach (var line in lost.Concat(duplicated).Concat(leaks).Concat(spaceLeaks).Concat(outcomes.UndesignedExamples).Take(40)) Console.WriteLine("  " + line);
if (hostFailuresBeyond > 0) Console.WriteLine("  host 500s on: " + string.Join(", ", outcomes.HostFailureRoutes.Take(40)));

foreach (var line in unfinished) Console.WriteLine("  " + line);
var failed = lost.Count + duplicated.Count + leaks.Count + spaceLeaks.Count + outcomes.UndesignedCount + unfinished.Count + hostFailuresBeyond;
var appLog = Path.Combine(Path.GetTempPath(), $"smartapp-reliability-{DateTime.UtcNow:yyyyMMdd-HHmmss}.log");
await File.WriteAllTextAsync(appLog, host.Output);
Console.WriteLine($"The app's log (dev host, worker, emulators): {appLog}");
Console.WriteLine(failed == 0 ? "RELIABILITY PASSED" : "RELIABILITY FAILED");
return failed == 0 ? 0 : 1;

int Arg(string name, int fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], CultureInfo.InvariantCulture, out var value) ? value : fallback;
}
