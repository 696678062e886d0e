using System.Globalization;
using Microsoft.AspNetCore.HttpsPolicy;

namespace SmartApp.DevHost;

/// <summary><c>extensions.http.hsts</c> in host.json: ASP.NET Core's HSTS options and whether they are on (the host's <c>HostHstsOptions</c>).</summary>
public sealed class HostHstsOptions : HstsOptions
{
    public bool IsEnabled { get; set; }
}

/// <summary>
/// What the dev host takes from the function app's host.json and app settings, with the Functions host's
/// defaults: the route prefix, <c>functionTimeout</c>, the HTTP throttles, custom headers and HSTS of
/// <c>extensions.http</c>, and the largest request body the host lets through. As in the host, an app
/// setting <c>AzureFunctionsJobHost__path__to__key</c> overrides host.json's value at that path.
/// </summary>
public sealed record HostSettings(
    string RoutePrefix,
    TimeSpan FunctionTimeout,
    long MaxRequestBodyBytes,
    int MaxConcurrentRequests = HostSettings.Unbounded,
    int MaxOutstandingRequests = HostSettings.Unbounded,
    IReadOnlyDictionary<string, string>? CustomHeaders = null,
    HostHstsOptions? Hsts = null,
    Triggers.QueueOptions? QueueSettings = null)
{
    /// <summary>host.json <c>extensions.queues</c>.</summary>
    public Triggers.QueueOptions Queues => QueueSettings ?? new();

    /// <summary>The Functions host's own limit on a request body (<c>ScriptConstants.DefaultMaxRequestBodySize</c>, 100 MiB).</summary>
    public const long DefaultMaxRequestBodyBytes = 104_857_600;

    /// <summary>The app setting that raises (or lowers) it, as the host's <c>HttpRequestBodySizeMiddleware</c> reads it.</summary>
    public const string RequestBodySizeLimitSetting = "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT";

    /// <summary>No throttle (<c>DataflowBlockOptions.Unbounded</c>, the host's default outside Windows Consumption).</summary>
    public const int Unbounded = -1;

    /// <summary>The app-setting prefix that overrides host.json (<c>ConfigurationSectionNames.JobHost</c>).</summary>
    public const string JobHostPrefix = "AzureFunctionsJobHost__";

    /// <summary>The default <c>functionTimeout</c> of the Flex Consumption and Premium plans.</summary>
    public static readonly TimeSpan DefaultFunctionTimeout = TimeSpan.FromMinutes(30);

    /// <summary>Whether the host queues requests at all (<c>HttpRequestQueue.IsEnabled</c>).</summary>
    public bool Throttled => MaxConcurrentRequests != Unbounded || MaxOutstandingRequests != Unbounded;

    /// <param name="settingsFile">The local.settings.json whose <c>Values</c> are the app settings (the environment wins, as for the worker).</param>
    public static HostSettings Read(string appDirectory, string? settingsFile = null)
    {
        var path = Path.Combine(appDirectory, "host.json");
        var overrides = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in AppSettings.All(settingsFile))
            if (key.StartsWith(JobHostPrefix, StringComparison.OrdinalIgnoreCase))
                overrides[key[JobHostPrefix.Length..].Replace("__", ":", StringComparison.Ordinal)] = value;
        var config = new ConfigurationBuilder()
            .AddJsonFile(path, optional: true, reloadOnChange: false)
            .AddInMemoryCollection(overrides)
            .Build();
        var http = config.GetSection("extensions:http");

        var timeout = TimeSpan.TryParse(config["functionTimeout"], CultureInfo.InvariantCulture, out var parsed) ? parsed : DefaultFunctionTimeout;
        var headers = http.GetSection("customHeaders").GetChildren().Where(h => h.Value is not null).ToDictionary(h => h.Key, h => h.Value!, StringComparer.OrdinalIgnoreCase);
        var hsts = new HostHstsOptions();
        http.GetSection("hsts").Bind(hsts);
        return new HostSettings(
            http["routePrefix"] ?? "api",
            timeout,
            BodyLimit(settingsFile),
            http.GetValue("maxConcurrentRequests", Unbounded),
            http.GetValue("maxOutstandingRequests", Unbounded),
            headers,
            hsts.IsEnabled ? hsts : null,
            ReadQueues(config.GetSection("extensions:queues")));
    }

    private static Triggers.QueueOptions ReadQueues(IConfigurationSection queues)
    {
        var defaults = new Triggers.QueueOptions();
        TimeSpan Time(string key, TimeSpan fallback) => TimeSpan.TryParse(queues[key], CultureInfo.InvariantCulture, out var value) ? value : fallback;
        return new Triggers.QueueOptions
        {
            BatchSize = Math.Clamp(queues.GetValue("batchSize", defaults.BatchSize), 1, 32),
            NewBatchThreshold = queues.GetValue<int?>("newBatchThreshold"),
            VisibilityTimeout = Time("visibilityTimeout", defaults.VisibilityTimeout),
            MaxDequeueCount = Math.Max(1, queues.GetValue("maxDequeueCount", defaults.MaxDequeueCount)),
            MaxPollingInterval = Time("maxPollingInterval", defaults.MaxPollingInterval),
            MessageEncoding = queues["messageEncoding"] ?? defaults.MessageEncoding,
        };
    }

    private static long BodyLimit(string? settingsFile) =>
        long.TryParse(AppSettings.Get(RequestBodySizeLimitSetting, settingsFile), NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit > 0
            ? limit
            : DefaultMaxRequestBodyBytes;
}
