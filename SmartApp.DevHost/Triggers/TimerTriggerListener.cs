using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using NCrontab;
using SmartApp.DevHost.Rpc;
using SmartApp.DevHost.Worker;

namespace SmartApp.DevHost.Triggers;

/// <summary>
/// Runs one timer-triggered function as the Timers extension's <c>TimerListener</c> does: occurrences from a
/// six-field NCRONTAB (seconds first) or a TimeSpan interval, one invocation at a time, held as a singleton
/// across hosts by a blob lease in <c>azure-webjobs-hosts</c>; an occurrence missed while the previous run
/// was still going runs at once with <c>IsPastDue</c>.
/// </summary>
public sealed partial class TimerTriggerListener(
    TimerTriggerBinding binding, string schedule, BlobContainerClient locks, string hostId, WorkerSupervisor workers, ILogger logger)
{
    /// <summary>The lease the singleton holds while it runs (the host's singleton lock period is 15 s, renewed).</summary>
    private static readonly TimeSpan LeasePeriod = TimeSpan.FromSeconds(15);

    private readonly Func<DateTime, DateTime> _next = ParseSchedule(schedule);

    /// <summary>The next occurrence after a time, for a schedule the host accepts; a clear error for one it does not.</summary>
    public static Func<DateTime, DateTime> ParseSchedule(string schedule)
    {
        if (TimeSpan.TryParse(schedule, CultureInfo.InvariantCulture, out var interval) && interval > TimeSpan.Zero)
            return after => after + interval;
        var fields = schedule.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        var cron = CrontabSchedule.TryParse(schedule, new CrontabSchedule.ParseOptions { IncludingSeconds = fields == 6 })
            ?? throw new InvalidOperationException($"The timer schedule '{schedule}' is neither an NCRONTAB expression nor a TimeSpan.");
        return after => cron.GetNextOccurrence(after);
    }

    public async Task RunAsync(CancellationToken stopping)
    {
        DateTime? last = null;
        var next = binding.RunOnStartup ? DateTime.UtcNow : _next(DateTime.UtcNow);
        while (!stopping.IsCancellationRequested)
        {
            var wait = next - DateTime.UtcNow;
            if (wait > TimeSpan.Zero)
                await Task.Delay(wait, stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (stopping.IsCancellationRequested) break;
            var pastDue = DateTime.UtcNow - next > TimeSpan.FromSeconds(1);
            var following = _next(DateTime.UtcNow);
            await RunOnceAsync(last, following, pastDue, stopping);
            last = DateTime.UtcNow;
            next = following;
        }
    }

    private async Task RunOnceAsync(DateTime? last, DateTime next, bool pastDue, CancellationToken stopping)
    {
        var started = Stopwatch.GetTimestamp();
        BlobLeaseClient? lease = null;
        try
        {
            lease = await AcquireLeaseAsync(stopping);
            if (lease is null)
            {
                LogSkipped(logger, binding.FunctionName);
                return;
            }
        }
        catch (Exception ex) when (ex is RequestFailedException or HttpRequestException && !stopping.IsCancellationRequested)
        {
            LogLeaseFailed(logger, binding.FunctionName, ex.Message);
            return;
        }
        catch (OperationCanceledException)
        {
            return;
        }

        using var renewing = new CancellationTokenSource();
        var renewal = RenewAsync(lease, renewing.Token);
        string outcome;
        try
        {
            (_, outcome) = await TriggerInvocation.RunAsync(workers, binding.FunctionName, id => BuildInvocation(id, last, next, pastDue), stopping);
        }
        finally
        {
            await renewing.CancelAsync();
            await renewal;
            try { await lease.ReleaseAsync(cancellationToken: CancellationToken.None); }
            catch (RequestFailedException) { } // it lapses by itself
        }
        LogInvocation(logger, binding.FunctionName, pastDue, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds, outcome);
    }

    /// <summary>The singleton's lease, or null when another host holds it.</summary>
    private async Task<BlobLeaseClient?> AcquireLeaseAsync(CancellationToken cancellationToken)
    {
        var blob = locks.GetBlobClient($"locks/{hostId}/{binding.FunctionName}.Listener");
        await locks.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        try
        {
            await blob.UploadAsync(BinaryData.FromString(""), overwrite: false, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            // It exists (and may be leased).
        }
        var lease = blob.GetBlobLeaseClient();
        try
        {
            await lease.AcquireAsync(LeasePeriod, cancellationToken: cancellationToken);
            return lease;
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return null;
        }
    }

    private async Task RenewAsync(BlobLeaseClient lease, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(LeasePeriod / 3, cancellationToken);
                await lease.RenewAsync(cancellationToken: cancellationToken);
            }
        }
        catch (OperationCanceledException) { }
        catch (RequestFailedException ex) { LogLeaseFailed(logger, binding.FunctionName, ex.Message); }
    }

    /// <summary>The <c>TimerInfo</c> the worker binds: the schedule's status and whether this run is late.</summary>
    private InvocationRequest BuildInvocation(string invocationId, DateTime? last, DateTime next, bool pastDue)
    {
        var request = new InvocationRequest
        {
            InvocationId = invocationId,
            FunctionId = binding.FunctionId,
            TraceContext = new RpcTraceContext { TraceParent = $"00-{ActivityTraceId.CreateRandom()}-{ActivitySpanId.CreateRandom()}-00" },
        };
        var info = JsonSerializer.Serialize(new
        {
            Schedule = new { AdjustForDST = true },
            ScheduleStatus = new { Last = last ?? DateTime.MinValue, Next = next, LastUpdated = DateTime.UtcNow },
            IsPastDue = pastDue,
        });
        request.InputData.Add(new ParameterBinding { Name = binding.Parameter, Data = new TypedData { Json = info } });
        request.TriggerMetadata[binding.Parameter] = new TypedData { Json = info };
        return request;
    }

    [LoggerMessage(EventId = 511, Level = LogLevel.Information, Message = "{Function} <- timer (past due: {PastDue}): {Milliseconds} ms, {Outcome}")]
    private static partial void LogInvocation(ILogger logger, string function, bool pastDue, long milliseconds, string outcome);

    [LoggerMessage(EventId = 512, Level = LogLevel.Debug, Message = "{Function}: another host holds the timer's lease; this occurrence is theirs")]
    private static partial void LogSkipped(ILogger logger, string function);

    [LoggerMessage(EventId = 513, Level = LogLevel.Warning, Message = "{Function}: the timer's lease could not be taken or kept: {Reason}")]
    private static partial void LogLeaseFailed(ILogger logger, string function, string reason);
}
