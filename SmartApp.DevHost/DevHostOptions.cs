using System.Reflection;

namespace SmartApp.DevHost;

public enum EmulatorMode
{
    /// <summary>Use whatever the settings point at.</summary>
    None,
    /// <summary>Start Azurite and the Cosmos emulator on free ports for this run, and point the worker at them.</summary>
    ForThisRun,
    /// <summary>Start them on the well-known ports local.settings.sample.json names, and no worker (for <c>func start</c>).</summary>
    Only,
}

/// <summary>What the dev host was asked to do, from its command line.</summary>
public sealed record DevHostOptions(
    string AppDirectory,
    int HttpPort,
    EmulatorMode Emulators,
    string? SettingsFile,
    string RepositoryRoot,
    string? ReadyFile,
    HostTimings Timings,
    bool ProblemDetails = false,
    bool Azure = false,
    int Workers = 1)
{
    /// <summary>The app setting that sets how many worker processes the host runs (<c>RpcWorkerConstants.FunctionsWorkerProcessCountSettingName</c>).</summary>
    public const string ProcessCountSetting = "FUNCTIONS_WORKER_PROCESS_COUNT";

    public const string Usage = """
        SmartApp dev host: runs the Functions worker the way the Azure Functions host does.

        Usage: SmartApp.DevHost [options]
          --app <dir>          the function app's build output (default: SmartApp.Functions' build)
          --port <n>           HTTP port on 127.0.0.1 (default 7071; 0 picks a free one)
          --emulators          start Azurite and the Cosmos emulator for this run; stop them on exit
          --emulators-only     start only the emulators, on ports 10000-10002 and 8081 (for 'func start')
          --settings <file>    local.settings.json to read (default: the app's, else local.settings.sample.json)
          --ready-file <file>  when serving, write the URL and emulator settings there as JSON
          --azure              as in Azure: the front end's headers (https, the app's host name), Production,
                               and the platform's environment variables (WEBSITE_HOSTNAME, WEBSITE_SKU, ...)
          --problem-details    answer the host's own failures (no route, function failed, worker lost) with
                               problem+json instead of the Functions host's empty status codes
          --workers <n>        run n worker processes (1-10), as FUNCTIONS_WORKER_PROCESS_COUNT does: requests and
                               trigger invocations are spread across them; the local stand-in for scale-out
          --timing <n>=<s>     shorten one of the host's clocks, in seconds (repeatable): responseStart (230),
                               proxyIdle (240), restartInterval (10), processStartupInterval (10), errorWindow (1800), restartHold (40),
                               hostStartHold (30), drain (10), terminateGrace (5), idleWorker (off: take the
                               worker away this long after its last request, as Flex Consumption does)
        """;

    public static DevHostOptions Parse(string[] args)
    {
        var root = Metadata("RepositoryRoot") ?? Directory.GetCurrentDirectory();
        string app = Metadata("FunctionAppDirectory") ?? Path.Combine(root, "SmartApp.Functions", "bin", "Debug", "net10.0");
        var port = 7071;
        var emulators = EmulatorMode.None;
        string? settings = null, ready = null;
        var timings = HostTimings.Azure;
        bool problemDetails = false, azure = false;
        int? workers = null;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--app": app = Path.GetFullPath(Value()); break;
                case "--port":
                    port = int.TryParse(Value(), out var p) && p is >= 0 and <= 65535 ? p : throw new ArgumentException("--port takes 0 to 65535.");
                    break;
                case "--emulators": emulators = EmulatorMode.ForThisRun; break;
                case "--emulators-only": emulators = EmulatorMode.Only; break;
                case "--settings": settings = Path.GetFullPath(Value()); break;
                case "--ready-file": ready = Path.GetFullPath(Value()); break;
                case "--timing": timings = timings.With(Value()); break;
                case "--problem-details": problemDetails = true; break;
                case "--azure": azure = true; break;
                case "--workers":
                    workers = int.TryParse(Value(), out var n) && n is >= 1 and <= 10 ? n : throw new ArgumentException("--workers takes 1 to 10.");
                    break;
                default: throw new ArgumentException($"Unknown option {args[i]}.");
            }
        }
        settings ??= new[] { Path.Combine(app, "local.settings.json"), Path.Combine(root, "local.settings.sample.json") }.FirstOrDefault(File.Exists);
        workers ??= int.TryParse(AppSettings.Get(ProcessCountSetting, settings), out var count) ? Math.Clamp(count, 1, 10) : 1;
        return new DevHostOptions(app, port, emulators, settings, root, ready, timings, problemDetails, azure, workers.Value);
    }

    private static string? Metadata(string key) =>
        typeof(DevHostOptions).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;
}
