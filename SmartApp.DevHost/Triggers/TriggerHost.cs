using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using SmartApp.DevHost.Worker;

namespace SmartApp.DevHost.Triggers;

/// <summary>
/// The host's listeners for the worker's queue and timer triggers, started once the worker's functions
/// are known and stopped when the host stops. Connections are app settings holding a storage
/// connection string (locally, Azurite's).
/// </summary>
public sealed partial class TriggerHost(DevHostOptions options, HostSettings host, ILoggerFactory loggers, IHostApplicationLifetime lifetime)
{
    private int _started;

    /// <summary>Starts a listener for each trigger (once: the functions do not change while the host runs).</summary>
    public void Start(IReadOnlyList<object> triggers, WorkerSupervisor workers)
    {
        if (triggers.Count == 0 || Interlocked.Exchange(ref _started, 1) == 1) return;
        var logger = loggers.CreateLogger("SmartApp.DevHost.Triggers");
        var settings = workers.AppSettingsSeenByWorker();
        var stopping = lifetime.ApplicationStopping;
        foreach (var trigger in triggers)
        {
            try
            {
                switch (trigger)
                {
                    case QueueTriggerBinding queue: StartQueue(queue, settings, workers, logger, stopping); break;
                    case TimerTriggerBinding timer: StartTimer(timer, settings, workers, logger, stopping); break;
                }
            }
            catch (InvalidOperationException ex)
            {
                LogListenerRefused(logger, ex.Message);
            }
        }
    }

    private void StartQueue(QueueTriggerBinding binding, IReadOnlyDictionary<string, string> settings, WorkerSupervisor workers, ILogger logger, CancellationToken stopping)
    {
        var name = TriggerBindings.Resolve(binding.QueueName, settings).ToLowerInvariant();
        var connection = Connection(binding.Connection, settings);
        var clientOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None };
        var listener = new QueueTriggerListener(binding with { QueueName = name }, new QueueClient(connection, name, clientOptions),
            new QueueClient(connection, name + "-poison", clientOptions), host.Queues, workers, logger);
        LogListening(logger, binding.FunctionName, $"queue {name}");
        _ = Task.Run(() => listener.RunAsync(stopping), CancellationToken.None);
    }

    private void StartTimer(TimerTriggerBinding binding, IReadOnlyDictionary<string, string> settings, WorkerSupervisor workers, ILogger logger, CancellationToken stopping)
    {
        var schedule = TriggerBindings.Resolve(binding.Schedule, settings);
        var locks = new BlobContainerClient(Connection(TriggerBindings.DefaultConnection, settings), "azure-webjobs-hosts");
        var listener = new TimerTriggerListener(binding, schedule, locks, HostId(), workers, logger);
        LogListening(logger, binding.FunctionName, $"timer '{schedule}'");
        _ = Task.Run(() => listener.RunAsync(stopping), CancellationToken.None);
    }

    /// <summary>The app settings the triggers' attributes and connections are read from: the worker's environment.</summary>
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
