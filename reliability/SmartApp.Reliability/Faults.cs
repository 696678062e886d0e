using System.Diagnostics;
using System.Net.Sockets;
using SmartApp.DevHost;
using SmartApp.Fakes;

namespace SmartApp.Reliability;

/// <summary>
/// The faults a run injects, on a schedule spread over the run: the fake model failing and then
/// hanging, the fake Raindrop hanging and then stopped, the Cosmos emulator frozen (SIGSTOP, then
/// SIGCONT: it keeps its data only in memory, so it is paused rather than killed — a real Cosmos DB
/// outage loses nothing either), Azurite killed and started again on its ports with its data
/// folder, and the worker killed (the dev host starts a new one).
/// </summary>
public sealed class Faults(DevHostProcess host, FakeVultr model, FakeRaindrop raindrop, TimeSpan duration, Action<string> log) : IAsyncDisposable
{
    private Process? _restartedAzurite;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        async Task At(double fraction)
        {
            var wait = duration * fraction - started.Elapsed;
            if (wait > TimeSpan.Zero) await Task.Delay(wait, cancellationToken);
        }
        var window = duration * 0.08;

        await At(0.10);
        log("model answers 500");
        model.Failure = FakeModelFailure.ServerError;
        await At(0.18);
        model.Failure = FakeModelFailure.None;
        log("model back; Raindrop hangs");
        raindrop.Fault = FakeRaindropFault.Hang;
        await At(0.26);
        raindrop.Fault = FakeRaindropFault.None;

        await At(0.30);
        var cosmos = Child("cosmos-shim.js");
        log($"Cosmos emulator frozen (SIGSTOP pid {cosmos})");
        Signal("STOP", cosmos);
        await Task.Delay(TimeSpan.FromSeconds(Math.Clamp(window.TotalSeconds, 3, 10)), cancellationToken);
        Signal("CONT", cosmos);
        log("Cosmos emulator resumed (SIGCONT)");

        await At(0.45);
        await RestartAzuriteAsync(cancellationToken);

        await At(0.60);
        var worker = Child("SmartApp.Functions.dll");
        log($"worker killed (pid {worker}, one of {host.ChildProcessIds("SmartApp.Functions.dll").Count}); the dev host starts another");
        Process.GetProcessById(worker).Kill();

        await At(0.68);
        log("model hangs before its first token");
        model.Failure = FakeModelFailure.HangBeforeFirstToken;
        await At(0.76);
        model.Failure = FakeModelFailure.None;
        log("model back; Raindrop answers 429 then is stopped");
        raindrop.Fault = FakeRaindropFault.RateLimited;
        await At(0.80);
        raindrop.Fault = FakeRaindropFault.None;
        await raindrop.StopAsync();
        await At(0.86);
        await raindrop.StartAgainAsync();
        log("Raindrop back; no more faults");
    }

    /// <summary>Kills Azurite and starts it again with the same command line, folder and ports; its blobs are on disk.</summary>
    private async Task RestartAzuriteAsync(CancellationToken cancellationToken)
    {
        var pid = _restartedAzurite?.Id ?? Child("azurite.js");
        var arguments = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        var directory = new DirectoryInfo($"/proc/{pid}/cwd").ResolveLinkTarget(true)!.FullName;
        var blobPort = int.Parse(arguments[Array.IndexOf(arguments, "--blobPort") + 1], System.Globalization.CultureInfo.InvariantCulture);
        log($"Azurite killed (pid {pid})");
        Process.GetProcessById(pid).Kill();
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        var start = new ProcessStartInfo(arguments[0]) { WorkingDirectory = directory, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments.Skip(1)) start.ArgumentList.Add(argument);
        start.Environment["EXIT_WHEN_STDIN_CLOSES"] = "1";
        _restartedAzurite = Process.Start(start)!;
        _restartedAzurite.OutputDataReceived += (_, _) => { };
        _restartedAzurite.ErrorDataReceived += (_, _) => { };
        _restartedAzurite.BeginOutputReadLine();
        _restartedAzurite.BeginErrorReadLine();
        for (var i = 0; i < 200 && !await ListeningAsync(blobPort); i++) await Task.Delay(100, cancellationToken);
        log($"Azurite started again (pid {_restartedAzurite.Id})");
    }

    private static async Task<bool> ListeningAsync(int port)
    {
        try
        {
            using var socket = new TcpClient();
            await socket.ConnectAsync("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private int Child(string commandLine) => host.ChildProcessIds(commandLine).First();

    private static void Signal(string signal, int pid)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    public ValueTask DisposeAsync()
    {
        if (_restartedAzurite is { HasExited: false }) _restartedAzurite.Kill(entireProcessTree: true);
        _restartedAzurite?.Dispose();
        return ValueTask.CompletedTask;
    }
}
