using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using SmartApp.DevHost;

namespace SmartApp.Tests.EndToEnd;

/// <summary>
/// Starts the real stack once per test run: the dev host, which starts Azurite and the Cosmos
/// emulator as processes and drives the real Functions worker. Tests talk HTTP to it.
/// </summary>
public class DevHostFixture : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(5); // the first run installs the emulators with npm ci
    private DevHostProcess? _host;

    /// <summary>The largest file the app under test accepts (small, so that the limit can be tested cheaply).</summary>
    public const long FileLimitBytes = 4 * 1024 * 1024;

    /// <summary>The language model the app talks to (Vultr's wire format on loopback).</summary>
    public FakeVultr Model { get; private set; } = null!;

    /// <summary>Stripe's API as the app sees it (loopback).</summary>
    public FakeStripe Stripe { get; private set; } = null!;

    /// <summary>Chat messages a free user may send a day in the app under test (small, so the limit can be reached).</summary>
    public const int FreeMessagesPerDay = 3;

    /// <summary>Files a free user may keep in the app under test.</summary>
    public const int FreeFiles = 10;

    /// <summary>Memories a free user may keep in the app under test.</summary>
    public const int FreeMemories = 12;

    /// <summary>Data records a free user may keep in the app under test, across tables.</summary>
    public const int FreeRecords = 20;

    /// <summary>Model tokens a free user may spend a month in the app under test (the fake model counts a token per 4 characters).</summary>
    public const int FreeTokensPerMonth = 4000;

    /// <summary>File passages a free user's file, and a free user's month, may have indexed in the app under test.</summary>
    public const int FreePassagesPerFile = 40, FreePassagesPerMonth = 60;

    /// <summary>Tool calls (chat and MCP) a free user may make a day in the app under test.</summary>
    public const int FreeToolCallsPerDay = 25;

    public HttpClient Client { get; private set; } = null!;

    /// <summary>What the dev host reported when it was ready: URLs and the emulators' settings.</summary>
    public IReadOnlyDictionary<string, string> State => _host!.State;

    public string StorageConnectionString => State["Storage__ConnectionString"];

    /// <summary>A client of the Cosmos emulator the app uses, for a test that looks at what the app stored (the caller disposes it).</summary>
    public Microsoft.Azure.Cosmos.CosmosClient CreateCosmosClient() => new(State["Cosmos__AccountEndpoint"], State["Cosmos__AccountKey"], new Microsoft.Azure.Cosmos.CosmosClientOptions
    {
        ConnectionMode = Microsoft.Azure.Cosmos.ConnectionMode.Gateway,
        LimitToEndpoint = true,
        HttpClientFactory = () => new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } }),
        UseSystemTextJsonSerializerWithOptions = new JsonSerializerOptions(JsonSerializerDefaults.Web),
    });

    /// <summary>Everything the dev host, the worker and the emulators printed.</summary>
    public string Output => _host!.Output;

    /// <summary>Whether the output shows <paramref name="text"/> within <paramref name="timeout"/>.</summary>
    public Task<bool> OutputShowsAsync(string text, TimeSpan timeout) => _host!.OutputShowsAsync(text, timeout);

    /// <summary>The worker process the dev host runs now (its child running SmartApp.Functions.dll).</summary>
    public int WorkerProcessId() => _host!.ChildProcessId("SmartApp.Functions.dll");

    /// <summary>The worker processes (several with <c>--workers</c>).</summary>
    public IReadOnlyList<int> WorkerProcessIds() => _host!.ChildProcessIds("SmartApp.Functions.dll");

    /// <summary>Settings a variant of the app under test adds (and the fakes it starts for them).</summary>
    /// <summary>More dev host arguments for a variant (several workers, say).</summary>
    protected virtual IEnumerable<string> VariantArguments => [];

    protected virtual Task<IReadOnlyDictionary<string, string>> StartVariantAsync() => Task.FromResult<IReadOnlyDictionary<string, string>>(new Dictionary<string, string>());

    public async Task InitializeAsync()
    {
        Model = await FakeVultr.StartAsync();
        Stripe = await FakeStripe.StartAsync();
        var variant = await StartVariantAsync();
        var devHost = BuildMetadata.Get("DevHostAssembly");
        var settings = new Dictionary<string, string>
        {
            ["Diagnostics__EnableFaultRoute"] = "true",
            ["Auth__AdminEmails__0"] = TestUsers.AdminEmail,
            ["Vultr__BaseUrl"] = Model.BaseUrl,
            ["Vultr__ApiKey"] = FakeVultr.ApiKey,
            ["Vultr__Model"] = "e2e-model",
            ["Vultr__RequestTimeout"] = "00:00:05",
            ["Billing__StripeApiBase"] = Stripe.BaseUrl,
            ["Billing__StripeSecretKey"] = FakeStripe.SecretKey,
            ["Billing__StripeWebhookSecret"] = FakeStripe.WebhookSecret,
            ["Billing__EventRecoverySchedule"] = "*/2 * * * * *",
            ["Cosmos__MigrationSchedule"] = "*/2 * * * * *",
            ["Billing__Plans__free__Entitlements__MessagesPerDay"] = FreeMessagesPerDay.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Billing__Plans__free__Entitlements__Files"] = FreeFiles.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Billing__Plans__free__Entitlements__Memories"] = FreeMemories.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Billing__Plans__free__Entitlements__Records"] = FreeRecords.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Billing__Plans__free__Entitlements__TokensPerMonth"] = FreeTokensPerMonth.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Billing__Plans__free__Entitlements__PassagesPerFile"] = FreePassagesPerFile.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Billing__Plans__free__Entitlements__PassagesPerMonth"] = FreePassagesPerMonth.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Billing__Plans__free__Entitlements__ToolCallsPerDay"] = FreeToolCallsPerDay.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Chat__FirstTokenTimeout"] = "00:00:03",
            ["Chat__IdleTimeout"] = "00:00:02",
            ["Agents__NoToolsModelMemory"] = "00:00:02",
            ["Files__MaxFileBytes"] = FileLimitBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Above host.json's maxDequeueCount (5), so the queue decides when one message's ingestion is given up.
            ["Files__MaxIngestionAttempts"] = "10",
        };
        foreach (var (key, value) in variant) settings[key] = value; // a variant's own settings win
        _host = await DevHostProcess.StartAsync(devHost, ["--emulators", "--port", "0", .. VariantArguments], StartTimeout, settings);
        Client = new HttpClient { BaseAddress = new Uri(State["apiUrl"] + "/"), Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>Signs in a demo user and returns a client that sends their token.</summary>
    public Task<(HttpClient Client, JsonElement SignIn)> SignInAsync(string email, string? name = null) => SignInAsync(new { email, name });

    /// <summary>Signs in with a whole demo sign-in body (an organization, a role, permissions) and returns a client that sends the token.</summary>
    public async Task<(HttpClient Client, JsonElement SignIn)> SignInAsync(object request)
    {
        using var response = await Client.PostAsJsonAsync("auth/demo", request);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, $"demo sign-in failed: {(int)response.StatusCode} {body}");
        var client = new HttpClient { BaseAddress = Client.BaseAddress, Timeout = Client.Timeout };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", body.GetProperty("accessToken").GetString());
        return (client, body);
    }

    /// <summary>
    /// Follows an account deletion's status (anonymously: the account is going away) until it is done, or 60 s
    /// pass, reading through the host's empty 500s and 503s while a worker is replaced.
    /// </summary>
    public async Task<JsonElement> WaitForDeletionAsync(string location)
    {
        JsonElement status = default;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            using var response = await Client.GetAsync(new Uri(new Uri(State["baseUrl"]), location));
            if (response.StatusCode is System.Net.HttpStatusCode.InternalServerError or System.Net.HttpStatusCode.ServiceUnavailable
                && response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            {
                await Task.Delay(250);
                continue;
            }
            status = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(response.IsSuccessStatusCode, status.ToString());
            if (status.GetProperty("status").GetString() is "completed" or "failed") break;
            await Task.Delay(100);
        }
        return status;
    }

    public virtual async Task DisposeAsync()
    {
        Client?.Dispose();
        if (_host is not null) await _host.DisposeAsync();
        if (Model is not null) await Model.DisposeAsync();
        if (Stripe is not null) await Stripe.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class DevHostCollection : ICollectionFixture<DevHostFixture>
{
    public const string Name = "dev host";
}

/// <summary>
/// The same app with memory, files and data on Raindrop (SmartMemory, SmartBuckets, SmartSQL: a fake
/// on loopback): mirrored from Cosmos, searched and asked there while it answers and is caught up.
/// </summary>
public sealed class RaindropDevHostFixture : DevHostFixture
{
    public FakeRaindrop Raindrop { get; private set; } = null!;

    /// <summary>Two workers, as two instances would be: the mirror's timer singleton and the queues are tested across them.</summary>
    public const int Workers = 2;

    protected override IEnumerable<string> VariantArguments => ["--workers", $"{Workers}", "--timing", "processStartupInterval=1"];

    protected override async Task<IReadOnlyDictionary<string, string>> StartVariantAsync()
    {
        Raindrop = await FakeRaindrop.StartAsync();
        return new Dictionary<string, string>
        {
            ["Memory__Provider"] = "Raindrop",
            ["Files__Provider"] = "Raindrop",
            ["Data__Provider"] = "Raindrop",
            ["Raindrop__BaseUrl"] = Raindrop.BaseUrl,
            ["Raindrop__ApiKey"] = FakeRaindrop.ApiKey,
            ["Raindrop__ApplicationName"] = "smartapp-e2e",
            ["Raindrop__Version"] = "01jtryx2f2f61ryk06vd8mr91p",
            ["Raindrop__BucketName"] = "e2e-files",
            ["Raindrop__MirrorSchedule"] = "* * * * * *",
            ["Raindrop__MirrorMaxBackoff"] = "00:00:01",
            ["Raindrop__ReadTimeout"] = "00:00:01",
            ["Raindrop__AttemptTimeout"] = "00:00:02",
            ["Raindrop__BreakDuration"] = "00:00:01",
            // Each worker trusts an open session it saw for this long (a session ended on the other one may take one
            // more write meanwhile, as documented); the memory tests here check the end on both at once.
            ["Memory__OpenSessionCacheDuration"] = "00:00:00.001",
        };
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Raindrop is not null) await Raindrop.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class RaindropCollection : ICollectionFixture<RaindropDevHostFixture>
{
    public const string Name = "dev host, smart layer on Raindrop";
}

public static class TestUsers
{
    public const string AdminEmail = "admin@e2e.test";

    /// <summary>A unique email per call, so tests never share a user by accident.</summary>
    public static string NewEmail(string who = "user") => $"{who}-{Guid.NewGuid():N}@e2e.test";
}
