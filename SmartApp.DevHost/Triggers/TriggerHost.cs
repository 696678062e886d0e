using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using SmartApp.DevHost.Emulators;
using SmartApp.DevHost.Worker;

namespace SmartApp.DevHost.Triggers;

/// <summary>
/// The host's listeners for the worker's queue and timer triggers, started once the worker's functions
/// are known and stopped when the host stops. Connections are app settings holding a storage
/// connection string (locally, Azurite's).
/// </summary>
public sealed partial class TriggerHost(DevHostOptions options, HostSettings host, ILoggerFactory loggers, IHostApplicationLifetime lifetime, EmulatorProcesses? emulators = null)
{
    private readonly Lock _gate = new();
    private readonly List<Task> _listeners = [];
    private bool _started;

    /// <summary>Starts a listener for each trigger (once: the functions do not change while the host runs).</summary>
    public void Start(IReadOnlyList<object> triggers, WorkerSupervisor workers)
    {
        lock (_gate)
        {
            if (_started || triggers.Count == 0) return;
            _started = true;
        }
        var logger = loggers.CreateLogger("SmartApp.DevHost.Triggers");
        var settings = Settings();
        var stopping = lifetime.ApplicationStopping;
        foreach (var trigger in triggers)
        {
            try
            {
                Task listener = trigger switch
                {
                    QueueTriggerBinding queue => StartQueue(queue, settings, workers, logger, stopping),
                    TimerTriggerBinding timer => StartTimer(timer, settings, workers, logger, stopping),
                    _ => Task.CompletedTask,
                };
                lock (_gate) _listeners.Add(listener);
            }
            catch (InvalidOperationException ex)
            {
                LogListenerRefused(logger, ex.Message);
            }
        }
    }

    /// <summary>Waits for the listeners to finish what they hold (the host is stopping).</summary>
    public Task StoppedAsync()
    {
        lock (_gate) return Task.WhenAll(_listeners);
    }

    private Task StartQueue(QueueTriggerBinding binding, IReadOnlyDictionary<string, string> settings, WorkerSupervisor workers, ILogger logger, CancellationToken stopping)
    {
        var name = TriggerBindings.Resolve(binding.QueueName, settings).ToLowerInvariant();
        var connection = Connection(binding.Connection, settings);
        var clientOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None };
        var listener = new QueueTriggerListener(binding with { QueueName = name }, new QueueClient(connection, name, clientOptions),
            new QueueClient(connection, name + "-poison", clientOptions), host.Queues, host, workers, logger);
        LogListening(logger, binding.FunctionName, $"queue {name}");
        return Task.Run(() => listener.RunAsync(stopping));
    }

    private Task StartTimer(TimerTriggerBinding binding, IReadOnlyDictionary<string, string> settings, WorkerSupervisor workers, ILogger logger, CancellationToken stopping)
    {
        var schedule = TriggerBindings.Resolve(binding.Schedule, settings);
        var locks = new BlobContainerClient(Connection(TriggerBindings.DefaultConnection, settings), "azure-webjobs-hosts");
        var listener = new TimerTriggerListener(binding, schedule, locks, HostId(), host, workers, logger);
        LogListening(logger, binding.FunctionName, $"timer '{schedule}'");
        return Task.Run(() => listener.RunAsync(stopping));
    }

    /// <summary>The app settings the triggers' attributes and connections are read from: the worker's environment.</summary>
    private Dictionary<string, string> Settings()
    {
        var settings = AppSettings.All(options.SettingsFile);
        if (emulators is not null)
            foreach (var (key, value) in emulators.WorkerSettings) settings[key] = value;
        return settings;
    }

    private static string Connection(string name, IReadOnlyDictionary<string, string> settings) =>
        settings.TryGetValue(name, out var value) && value.Length > 0 ? value
        : settings.TryGetValue($"ConnectionStrings__{name}", out value) && value.Length > 0 ? value
        : throw new InvalidOperationException($"The connection '{name}' is not an app setting with a storage connection string (identity-based connections run only in Azure).");

    /// <summary>The host id that names the singleton locks: the site's name, or the app folder's.</summary>
    private string HostId() => options.Azure
        ? AzurePlatform.SiteName(options.SettingsFile).ToLowerInvariant()
        : "dev-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(options.AppDirectory)))[..12];

    [LoggerMessage(EventId = 521, Level = LogLevel.Information, Message = "{Function}: listening on {Source}")]
    private static partial void LogListening(ILogger logger, string function, string source);

    [LoggerMessage(EventId = 522, Level = LogLevel.Error, Message = "A trigger cannot be listened on: {Reason}")]
    private static partial void LogListenerRefused(ILogger logger, string reason);
}
