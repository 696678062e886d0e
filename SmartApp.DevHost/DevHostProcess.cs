using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace SmartApp.DevHost;

/// <summary>
/// A dev host run as a child process (by the end-to-end tests and the benchmark): started with
/// arguments and extra environment, ready once it writes its <c>--ready-file</c>, and ended with
/// SIGTERM — its own clean shutdown — when disposed.
/// </summary>
public sealed partial class DevHostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private DevHostProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The dev host's process id.</summary>
    public int Id => _process.Id;

    /// <summary>The id of this dev host's one child process whose command line contains <paramref name="commandLine"/> (the worker, an emulator); Linux only.</summary>
    public int ChildProcessId(string commandLine) => ChildProcessIds(commandLine).Single();

    /// <summary>
    /// The ids of the processes under this dev host whose command line contains <paramref name="commandLine"/>
    /// (its workers, with <c>--workers</c>; an emulator), at any depth: the dev host may have run itself again
    /// to reset an inherited SIGINT. Linux only.
    /// </summary>
    public IReadOnlyList<int> ChildProcessIds(string commandLine)
    {
        var parents = new Dictionary<int, int>();
        foreach (var pid in Directory.EnumerateDirectories("/proc").Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0).Where(pid => pid > 0))
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                parents[pid] = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // The process ended while being looked at.
            }
        }
        bool Under(int pid)
        {
            for (var depth = 0; depth < 8 && parents.TryGetValue(pid, out var parent); depth++, pid = parent)
                if (parent == Id) return true;
            return false;
        }
        return parents.Keys.Where(pid =>
        {
            if (!Under(pid)) return false;
            try { return File.ReadAllText($"/proc/{pid}/cmdline").Contains(commandLine, StringComparison.Ordinal); }
            catch (IOException) { return false; }
        }).ToList();
    }

    /// <summary>Everything the dev host (and through it the worker and emulators) printed so far.</summary>
    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>Whether the output shows <paramref name="text"/> within <paramref name="timeout"/> (logs arrive after responses).</summary>
    public async Task<bool> OutputShowsAsync(string text, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (deadline.Elapsed > timeout) return false;
            await Task.Delay(20);
        }
        return true;
    }

    /// <summary>What the ready file said: <c>baseUrl</c>, <c>apiUrl</c> and, with emulators, their settings.</summary>
    public IReadOnlyDictionary<string, string> State { get; private set; } = new Dictionary<string, string>();

    /// <summary>Starts the dev host without waiting for it.</summary>
    public static DevHostProcess Launch(string devHostAssembly, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        // Standard input is a pipe the child may watch: it closes if this process dies.
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        start.ArgumentList.Add(devHostAssembly);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        return new DevHostProcess(Process.Start(start) ?? throw new InvalidOperationException("Could not start dotnet."));
    }

    /// <summary>Starts the dev host and waits until it serves (or fails, or <paramref name="timeout"/> passes).</summary>
    public static async Task<DevHostProcess> StartAsync(string devHostAssembly, IEnumerable<string> arguments, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var readyFile = Path.Combine(Path.GetTempPath(), $"smartapp-devhost-{Guid.NewGuid():N}.json");
        var host = Launch(devHostAssembly, [.. arguments, "--ready-file", readyFile], environment);
        var waited = Stopwatch.StartNew();
        while (!File.Exists(readyFile))
        {
            if (host._process.HasExited || waited.Elapsed > timeout)
            {
                var reason = host._process.HasExited ? $"exited with code {host._process.ExitCode}" : $"was not ready within {timeout}";
                await host.DisposeAsync();
                throw new InvalidOperationException($"The dev host {reason}:\n{host.Output}");
            }
            await Task.Delay(50);
        }
        host.State = JsonSerializer.Deserialize<Dictionary<string, string>>(await File.ReadAllTextAsync(readyFile))!;
        File.Delete(readyFile);
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, 15); // SIGTERM
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(40));
            try { await _process.WaitForExitAsync(timeout.Token); }
            catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); }
        }
        _process.Dispose();
    }

    private int _disposed;

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
