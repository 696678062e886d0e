using SmartApp.DevHost;
using SmartApp.DevHost.Worker;

namespace SmartApp.Tests.Unit;

/// <summary>
/// Each of the dev host's rules pinned to where the Functions host (Azure/azure-functions-host, release 4.1037)
/// or the platform's documentation has it, so a change that drifts from the real host fails here. The
/// behaviours themselves are tested end to end in DevHostBehaviourTests and DevHostFailureTests.
/// </summary>
[Trait("Category", "Unit")]
public sealed class HostFidelityTests
{
    private static readonly HostTimings Azure = HostTimings.Azure;

    [Fact] // src/WebJobs.Script/ScriptConstants.cs: DefaultMaxRequestBodySize = 104857600; HttpRequestBodySizeMiddleware reads FUNCTIONS_REQUEST_BODY_SIZE_LIMIT
    public void Body_limit_is_ScriptConstants_DefaultMaxRequestBodySize_raised_by_FUNCTIONS_REQUEST_BODY_SIZE_LIMIT()
    {
        Assert.Equal(104_857_600, HostSettings.DefaultMaxRequestBodyBytes);
        Assert.Equal("FUNCTIONS_REQUEST_BODY_SIZE_LIMIT", HostSettings.RequestBodySizeLimitSetting);
    }

    [Fact] // Functions documentation, "Function app timeout duration": 230 s, Azure Load Balancer's idle timeout, answered 502
    public void Response_start_deadline_is_the_front_ends_230_seconds() => Assert.Equal(TimeSpan.FromSeconds(230), Azure.ResponseStart);

    [Fact] // src/WebJobs.Script.Grpc/Server/DefaultHttpProxyService.cs: ActivityTimeout = TimeSpan.FromSeconds(240)
    public void Proxy_idle_timeout_is_DefaultHttpProxyService_ActivityTimeout() => Assert.Equal(TimeSpan.FromSeconds(240), Azure.ProxyIdle);

    [Fact] // src/WebJobs.Script.Grpc/Server/RetryProxyHandler.cs: MaxRetries = 10, InitialDelay = 50, MaximumDelay = 250
    public void Connection_retries_are_RetryProxyHandlers()
    {
        Assert.Equal(10, InvocationProxy.RetryProxyHandler.MaxRetries);
        Assert.Equal(50, InvocationProxy.RetryProxyHandler.InitialDelayMilliseconds);
        Assert.Equal(250, InvocationProxy.RetryProxyHandler.MaximumDelayMilliseconds);
    }

    [Fact] // src/WebJobs.Script/Workers/ProcessManagement/WorkerProcessCountOptions.cs: ProcessRestartInterval = 10 s
    public void Restart_spacing_is_ProcessRestartInterval() => Assert.Equal(TimeSpan.FromSeconds(10), Azure.RestartInterval);

    [Fact] // WorkerProcessCountOptions: ProcessCount 1, MaxProcessCount 10, ProcessStartupInterval 10 s; FUNCTIONS_WORKER_PROCESS_COUNT sets the count
    public void Worker_processes_are_WorkerProcessCountOptions()
    {
        Assert.Equal(TimeSpan.FromSeconds(10), Azure.ProcessStartupInterval);
        Assert.Equal(10, WorkerSupervisor.MaxProcessCount);
        Assert.Equal("FUNCTIONS_WORKER_PROCESS_COUNT", DevHostOptions.ProcessCountSetting);
        Assert.Equal(1, DevHostOptions.Parse([]).Workers);
        Assert.Equal(3, DevHostOptions.Parse(["--workers", "3"]).Workers);
        Assert.Throws<ArgumentException>(() => DevHostOptions.Parse(["--workers", "11"]));
    }

    [Fact] // RpcFunctionInvocationDispatcher: ErrorEventsThreshold = 3 * max process count (1); WorkerConstants.WorkerRestartErrorIntervalThresholdInMinutes = 30
    public void Three_errors_within_30_minutes_recycle_the_host()
    {
        Assert.Equal(3, WorkerSupervisor.ErrorEventsThreshold);
        Assert.Equal(TimeSpan.FromMinutes(30), Azure.ErrorWindow);
    }

    [Fact] // src/WebJobs.Script/Workers/WorkerConstants.cs: SuccessExitCode = 0, IntentionalRestartExitCode = 200 (WorkerProcess.OnProcessExited)
    public void Exit_codes_are_WorkerConstants()
    {
        Assert.Equal(0, WorkerSupervisor.SuccessExitCode);
        Assert.Equal(200, WorkerSupervisor.IntentionalRestartExitCode);
    }

    [Fact] // WorkerFunctionInvoker.DelayUntilFunctionDispatcherInitializedOrShutdown: (ErrorEventsThreshold + 1) x 10 s initialisation timeout
    public void A_request_is_held_40_seconds_for_a_restarting_worker() =>
        Assert.Equal(TimeSpan.FromSeconds((WorkerSupervisor.ErrorEventsThreshold + 1) * 10), Azure.RestartHold);

    [Fact] // ScriptConstants.HostTimeoutSeconds = 30 (HostAvailabilityCheckMiddleware, then 503 "Function host is not running.")
    public void A_request_is_held_30_seconds_for_a_starting_host() => Assert.Equal(TimeSpan.FromSeconds(30), Azure.HostStartHold);

    [Fact] // WebJobsScriptHostService.StopAsync: Task.WhenAny(stopTask, Task.Delay(10 s)); WorkerConstants.WorkerTerminateGracePeriodInSeconds = 5
    public void Shutdown_drains_10_seconds_then_gives_the_worker_5()
    {
        Assert.Equal(TimeSpan.FromSeconds(10), Azure.Drain);
        Assert.Equal(TimeSpan.FromSeconds(5), Azure.TerminateGrace);
        Assert.Null(Azure.IdleWorker); // the host never takes a worker away; the idle-worker option is the Flex plan's scale-in, off unless asked
    }

    [Fact] // ScriptConstants.AntaresScaleOutHeaderName = "X-FUNCTION-SCALEOUT" (HttpThrottleMiddleware.RejectRequest); HttpOptions: unbounded outside Windows Consumption
    public void Throttled_requests_carry_the_scale_out_header_and_throttles_are_off_by_default()
    {
        Assert.Equal("X-FUNCTION-SCALEOUT", HostAnswers.ScaleOutHeader);
        var settings = HostSettings.Read(Directory.CreateTempSubdirectory().FullName);
        Assert.False(settings.Throttled);
    }

    [Fact] // ConfigurationSectionNames: extensions:http:{routePrefix,maxConcurrentRequests,maxOutstandingRequests,customHeaders,hsts}, overridden by AzureFunctionsJobHost__ settings
    public void Host_json_extensions_http_is_read_and_an_AzureFunctionsJobHost_setting_overrides_it()
    {
        var app = Directory.CreateTempSubdirectory().FullName;
        File.WriteAllText(Path.Combine(app, "host.json"), """
            {
              "version": "2.0",
              "functionTimeout": "00:05:00",
              "extensions": { "http": {
                "routePrefix": "v",
                "maxConcurrentRequests": 4,
                "maxOutstandingRequests": 8,
                "customHeaders": { "X-Frame-Options": "DENY" },
                "hsts": { "isEnabled": true, "maxAge": "10:00:00:00" }
              } }
            }
            """);
        var settings = Path.Combine(app, "local.settings.json");
        File.WriteAllText(settings, """{ "Values": { "AzureFunctionsJobHost__extensions__http__maxOutstandingRequests": "16", "AzureFunctionsJobHost__functionTimeout": "00:01:00" } }""");
        var read = HostSettings.Read(app, settings);
        Assert.Equal("v", read.RoutePrefix);
        Assert.Equal(TimeSpan.FromMinutes(1), read.FunctionTimeout);
        Assert.Equal(4, read.MaxConcurrentRequests);
        Assert.Equal(16, read.MaxOutstandingRequests);
        Assert.Equal("DENY", read.CustomHeaders!["X-Frame-Options"]);
        Assert.Equal(TimeSpan.FromDays(10), read.Hsts!.MaxAge);
    }

    [Fact] // Storage Queues extension QueuesOptions: BatchSize 16, NewBatchThreshold processors x BatchSize / 2, VisibilityTimeout 0, MaxDequeueCount 5, MaxPollingInterval 1 min, base64; QueueListener receives for 10 min
    public void Queue_trigger_defaults_are_QueuesOptions()
    {
        var queues = HostSettings.Read(Directory.CreateTempSubdirectory().FullName).Queues;
        Assert.Equal(16, queues.BatchSize);
        Assert.Equal(Environment.ProcessorCount * 8, queues.Threshold);
        Assert.Equal(TimeSpan.Zero, queues.VisibilityTimeout);
        Assert.Equal(5, queues.MaxDequeueCount);
        Assert.Equal(TimeSpan.FromMinutes(1), queues.MaxPollingInterval);
        Assert.Equal("base64", queues.MessageEncoding);
        Assert.Equal(TimeSpan.FromMinutes(10), SmartApp.DevHost.Triggers.QueueOptions.ReceiveVisibility);
        Assert.Equal(TimeSpan.FromMilliseconds(100), SmartApp.DevHost.Triggers.QueueOptions.MinPollingInterval);
    }

    [Fact] // The app's host.json: one file (or deletion) at a time per instance, failed deliveries 5 s apart, an empty queue polled at least every second
    public void The_apps_queue_settings_are_read_from_its_host_json()
    {
        var app = Path.GetDirectoryName(typeof(SmartApp.Functions.Http.ProblemWriter).Assembly.Location)!;
        var queues = HostSettings.Read(app).Queues;
        Assert.Equal(1, queues.BatchSize);
        Assert.Equal(0, queues.Threshold);
        Assert.Equal(TimeSpan.FromSeconds(5), queues.VisibilityTimeout);
        Assert.Equal(TimeSpan.FromSeconds(1), queues.MaxPollingInterval);
        // A poisoned file says how many times it was tried: the app's figure is host.json's.
        Assert.Equal(SmartApp.Functions.Files.IngestionFunctions.MaxDequeueCount, queues.MaxDequeueCount);
    }

    [Theory] // Timers extension: six-field NCRONTAB with seconds, five-field without, or a TimeSpan
    [InlineData("*/2 * * * * *", 2)]
    [InlineData("0 */1 * * * *", 60)]
    [InlineData("*/5 * * * *", 300)]
    [InlineData("00:00:30", 30)]
    public void Timer_schedules_are_read_as_the_timers_extension_reads_them(string schedule, int secondsApart)
    {
        var next = SmartApp.DevHost.Triggers.TimerTriggerListener.ParseSchedule(schedule);
        var first = next(new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        Assert.Equal(TimeSpan.FromSeconds(secondsApart), next(first) - first);
    }

    [Fact]
    public void A_schedule_the_host_cannot_read_is_refused() =>
        Assert.Throws<InvalidOperationException>(() => SmartApp.DevHost.Triggers.TimerTriggerListener.ParseSchedule("every minute"));

    [Fact] // Flex Consumption and Premium plans: functionTimeout defaults to 30 minutes
    public void FunctionTimeout_defaults_to_30_minutes() =>
        Assert.Equal(TimeSpan.FromMinutes(30), HostSettings.Read(Directory.CreateTempSubdirectory().FullName).FunctionTimeout);

    [Theory]
    [InlineData("responseStart=2")]
    [InlineData("idleWorker=0.5")]
    public void A_clock_can_be_shortened_for_a_test(string assignment) => Assert.NotEqual(Azure, Azure.With(assignment));

    [Theory]
    [InlineData("responseStart")]
    [InlineData("responseStart=0")]
    [InlineData("sometime=3")]
    public void A_clock_that_is_not_one_or_not_positive_is_refused(string assignment) =>
        Assert.Throws<ArgumentException>(() => Azure.With(assignment));
}
