using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace SmartApp.Tests.EndToEnd;

/// <summary>
/// Starts the real stack once per test run: the dev host, which starts Azurite and the Cosmos
/// emulator as processes and drives the real Functions worker. Tests talk HTTP to it.
/// </summary>
public sealed partial class DevHostFixture : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(5); // the first run installs the emulators with npm ci
    private readonly StringBuilder _output = new();
    private Process? _process;

    public HttpClient Client { get; private set; } = null!;

    /// <summary>What the dev host wrote when it was ready: URLs and the emulators' settings.</summary>
    public IReadOnlyDictionary<string, string> State { get; private set; } = new Dictionary<string, string>();

    public string StorageConnectionString => State["Storage__ConnectionString"];

    public async Task InitializeAsync()
    {
        var devHost = typeof(DevHostFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "DevHostAssembly").Value!;
        var readyFile = Path.Combine(Path.GetTempPath(), $"smartapp-devhost-{Guid.NewGuid():N}.json");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            Environment =
            {
                ["Diagnostics__EnableFaultRoute"] = "true",
                ["Auth__AdminEmails__0"] = TestUsers.AdminEmail,
            },
        };
        foreach (var argument in new[] { devHost, "--emulators", "--port", "0", "--ready-file", readyFile })
            start.ArgumentList.Add(argument);
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var waited = Stopwatch.StartNew();
        while (!File.Exists(readyFile))
        {
            if (_process.HasExited) throw new InvalidOperationException($"The dev host exited with code {_process.ExitCode}:\n{Output}");
            if (waited.Elapsed > StartTimeout) throw new TimeoutException($"The dev host was not ready within {StartTimeout}:\n{Output}");
            await Task.Delay(100);
        }
        State = JsonSerializer.Deserialize<Dictionary<string, string>>(await File.ReadAllTextAsync(readyFile))!;
        File.Delete(readyFile);
        Client = new HttpClient { BaseAddress = new Uri(State["apiUrl"] + "/"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>Signs in a demo user and returns a client that sends their token.</summary>
    public async Task<(HttpClient Client, JsonElement SignIn)> SignInAsync(string email, string? name = null)
    {
        using var response = await Client.PostAsJsonAsync("auth/demo", new { email, name });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, $"demo sign-in failed: {(int)response.StatusCode} {body}");
        var client = new HttpClient { BaseAddress = Client.BaseAddress, Timeout = Client.Timeout };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", body.GetProperty("accessToken").GetString());
        return (client, body);
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        if (_process is null) return;
        if (!_process.HasExited)
        {
            // SIGTERM: the dev host's own clean shutdown (worker terminated, emulators stopped).
            _ = Kill(_process.Id, 15);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try { await _process.WaitForExitAsync(timeout.Token); }
            catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); }
        }
        _process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}

[CollectionDefinition(Name)]
public sealed class DevHostCollection : ICollectionFixture<DevHostFixture>
{
    public const string Name = "dev host";
}

public static class TestUsers
{
    public const string AdminEmail = "admin@e2e.test";

    /// <summary>A unique email per call, so tests never share a user by accident.</summary>
    public static string NewEmail(string who = "user") => $"{who}-{Guid.NewGuid():N}@e2e.test";
}
