using System.Reflection;
using SmartApp.DevHost;

namespace SmartApp.Tests.EndToEnd;

/// <summary>The real stack in WorkOS mode, against <see cref="FakeWorkOS"/> on loopback.</summary>
public sealed class WorkOSDevHostFixture : IAsyncLifetime
{
    private DevHostProcess? _host;

    public FakeWorkOS WorkOS { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        WorkOS = await FakeWorkOS.StartAsync();
        var devHost = typeof(WorkOSDevHostFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "DevHostAssembly").Value!;
        _host = await DevHostProcess.StartAsync(devHost, ["--emulators", "--port", "0"], TimeSpan.FromMinutes(5), new Dictionary<string, string>
        {
            ["Auth__Mode"] = "WorkOS",
            ["WorkOS__ApiBaseUrl"] = WorkOS.BaseUrl,
            ["WorkOS__ClientId"] = FakeWorkOS.ClientId,
            ["WorkOS__ApiKey"] = FakeWorkOS.ApiKey,
            ["WorkOS__JwksRefetchCooldown"] = "00:00:00",
        });
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
