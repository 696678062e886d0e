using System.Reflection;
using SmartApp.DevHost;

namespace SmartApp.Tests.EndToEnd;

/// <summary>The real stack in WorkOS mode, against <see cref="FakeWorkOS"/> on loopback.</summary>
public sealed class WorkOSDevHostFixture : IAsyncLifetime
{
    private DevHostProcess? _host;

    public FakeWorkOS WorkOS { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;

    /// <summary>Waits until the dev host's output (its own log and the worker's) shows <paramref name="text"/>.</summary>
    public Task<bool> OutputShowsAsync(string text, TimeSpan timeout) => _host!.OutputShowsAsync(text, timeout);

    /// <summary>The Azurite account the app stores blobs in, to check what is there directly.</summary>
    public string StorageConnectionString => _host!.State["Storage__ConnectionString"];

    /// <summary>The app's own origin (where web sign-in returns), e.g. http://127.0.0.1:40123.</summary>
    public string Origin { get; private set; } = "";

    public async Task InitializeAsync()
    {
        WorkOS = await FakeWorkOS.StartAsync();
        var devHost = BuildMetadata.Get("DevHostAssembly");
        // The port is chosen before the host starts (sign-in must know its own origin), so an emulator the host starts first can
        // take it meanwhile: then the host cannot bind it, and it starts again on another port.
        for (var attempt = 1; ; attempt++)
        {
            var port = PortAllocator.FreePort();
            Origin = $"http://127.0.0.1:{port}";
            try
            {
                _host = await DevHostProcess.StartAsync(devHost, ["--emulators", "--port", $"{port}"], TimeSpan.FromMinutes(5), new Dictionary<string, string>
                {
                    ["WorkOS__RedirectUri"] = $"{Origin}/api/auth/callback",
                    ["Auth__AllowedOrigins__0"] = Origin,
                    ["Auth__AllowedOrigins__1"] = "https://app.e2e.test",
                    ["Auth__Mode"] = "WorkOS",
                    ["WorkOS__ApiBaseUrl"] = WorkOS.BaseUrl,
                    ["WorkOS__ClientId"] = FakeWorkOS.ClientId,
                    ["WorkOS__ApiKey"] = FakeWorkOS.ApiKey,
                    ["WorkOS__EventSyncSchedule"] = "*/2 * * * * *",
                    ["WorkOS__JwksRefetchCooldown"] = "00:00:00",
                });
                break;
            }
            catch (InvalidOperationException ex) when (attempt < 3 && ex.Message.Contains($"127.0.0.1:{port}: address already in use", StringComparison.Ordinal))
            {
            }
        }
        Client = new HttpClient { BaseAddress = new Uri(_host.State["apiUrl"] + "/"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        if (_host is not null) await _host.DisposeAsync();
        if (WorkOS is not null) await WorkOS.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class WorkOSDevHostCollection : ICollectionFixture<WorkOSDevHostFixture>
{
    public const string Name = "dev host in WorkOS mode";
}
