using System.Diagnostics;
using System.Text;
using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using SmartApp.DevHost.Rpc;
using SmartApp.DevHost.Worker;

namespace SmartApp.DevHost.Triggers;

/// <summary>
/// Runs one queue-triggered function as the Storage Queues extension's <c>QueueListener</c> does: batches
/// received invisible for 10 minutes and kept so while the function runs, a new batch once at most
/// <c>newBatchThreshold</c> run, polling backing off from 100 ms to <c>maxPollingInterval</c> while the
/// queue is empty; a message deleted when its function succeeds, made visible again after
/// <c>visibilityTimeout</c> when it fails, and moved to <c>&lt;queue&gt;-poison</c> once it has failed
/// <c>maxDequeueCount</c> times.
/// </summary>
public sealed partial class QueueTriggerListener(
    QueueTriggerBinding binding, QueueClient queue, QueueClient poison, QueueOptions options, WorkerSupervisor workers, ILogger logger)
{
    public async Task RunAsync(CancellationToken stopping)
    {
        var running = new List<Task>();
        var wait = QueueOptions.MinPollingInterval;
        var created = false;
        while (!stopping.IsCancellationRequested)
        {
            running.RemoveAll(t => t.IsCompleted);
            if (running.Count > options.Threshold)
            {
                await ((Task)Task.WhenAny(running)).WaitAsync(stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }
            QueueMessage[] messages = [];
            try
            {
                if (!created) { await queue.CreateIfNotExistsAsync(cancellationToken: stopping); created = true; }
                messages = (await queue.ReceiveMessagesAsync(options.BatchSize, QueueOptions.ReceiveVisibility, stopping)).Value;
            }
            catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or AggregateException && !stopping.IsCancellationRequested)
            {
                LogPollFailed(logger, binding.QueueName, ex.Message);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            if (messages.Length == 0)
            {
                // RandomizedExponentialBackoffStrategy: doubling, with jitter, up to the maximum.
                await Task.Delay(wait * (0.8 + Random.Shared.NextDouble() * 0.4), stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, options.MaxPollingInterval.Ticks));
                continue;
            }
            wait = QueueOptions.MinPollingInterval;
            foreach (var message in messages) running.Add(ProcessAsync(message, stopping));
        }
        await Task.WhenAll(running).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task ProcessAsync(QueueMessage message, CancellationToken stopping)
    {
        var started = Stopwatch.GetTimestamp();
        var receipt = message.PopReceipt;
        if (message.DequeueCount > options.MaxDequeueCount)
        {
            // Taken more often than allowed without an answer (its instance went each time): straight to poison.
            await MoveToPoisonAsync(message, receipt);
            return;
        }
        using var renewing = new CancellationTokenSource();
        var renewal = RenewVisibilityAsync(message, () => receipt, r => receipt = r, renewing.Token);
        bool succeeded;
        string outcome;
        try
        {
            var text = Decode(message.MessageText);
            (succeeded, outcome) = await TriggerInvocation.RunAsync(workers, binding.FunctionName, id => BuildInvocation(id, message, text), stopping);
        }
        catch (FormatException)
        {
            (succeeded, outcome) = (false, "failed: the message is not base64 (host.json extensions.queues.messageEncoding)");
        }
        finally
        {
            await renewing.CancelAsync();
            await renewal;
        }

        try
        {
            if (succeeded)
                await queue.DeleteMessageAsync(message.MessageId, receipt, CancellationToken.None);
            else if (message.DequeueCount >= options.MaxDequeueCount)
                await MoveToPoisonAsync(message, receipt);
            else
                await queue.UpdateMessageAsync(message.MessageId, receipt, visibilityTimeout: options.VisibilityTimeout, cancellationToken: CancellationToken.None);
        }
        catch (RequestFailedException ex)
        {
            outcome += $"; the message could not be settled ({ex.ErrorCode}): it returns after its visibility timeout";
        }
        LogInvocation(logger, binding.FunctionName, binding.QueueName, message.MessageId, message.DequeueCount,
            (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds, outcome);
    }

    private async Task MoveToPoisonAsync(QueueMessage message, string receipt)
    {
        await poison.CreateIfNotExistsAsync();
        await poison.SendMessageAsync(message.MessageText);
        await queue.DeleteMessageAsync(message.MessageId, receipt);
        LogPoisoned(logger, message.MessageId, binding.QueueName, poison.Name, message.DequeueCount);
    }

    /// <summary>Keeps a running message invisible: renewed at half its visibility, as the host's <c>UpdateQueueMessageVisibilityCommand</c> does.</summary>
    private async Task RenewVisibilityAsync(QueueMessage message, Func<string> receipt, Action<string> renewed, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(QueueOptions.ReceiveVisibility / 2, cancellationToken);
                var update = await queue.UpdateMessageAsync(message.MessageId, receipt(), visibilityTimeout: QueueOptions.ReceiveVisibility, cancellationToken: cancellationToken);
                renewed(update.Value.PopReceipt);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (RequestFailedException ex)
        {
            LogRenewFailed(logger, message.MessageId, ex.ErrorCode ?? ex.Status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    private string Decode(string text) =>
        string.Equals(options.MessageEncoding, "base64", StringComparison.OrdinalIgnoreCase) ? Encoding.UTF8.GetString(Convert.FromBase64String(text)) : text;

    /// <summary>The message as the trigger's input, and its properties as binding data (as the host's <c>QueueTriggerBindingDataProvider</c> names them).</summary>
    private InvocationRequest BuildInvocation(string invocationId, QueueMessage message, string text)
    {
        var request = new InvocationRequest
        {
            InvocationId = invocationId,
            FunctionId = binding.FunctionId,
            TraceContext = new RpcTraceContext { TraceParent = $"00-{ActivityTraceId.CreateRandom()}-{ActivitySpanId.CreateRandom()}-00" },
        };
        request.InputData.Add(new ParameterBinding { Name = binding.Parameter, Data = new TypedData { String = text } });
        request.TriggerMetadata["QueueTrigger"] = new TypedData { String = text };
        request.TriggerMetadata["Id"] = new TypedData { String = message.MessageId };
        request.TriggerMetadata["PopReceipt"] = new TypedData { String = message.PopReceipt };
        request.TriggerMetadata["DequeueCount"] = new TypedData { Json = message.DequeueCount.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        foreach (var (name, time) in new[] { ("InsertionTime", message.InsertedOn), ("ExpirationTime", message.ExpiresOn), ("NextVisibleTime", message.NextVisibleOn) })
            if (time is { } value)
                request.TriggerMetadata[name] = new TypedData { Json = System.Text.Json.JsonSerializer.Serialize(value) };
        return request;
    }

    [LoggerMessage(EventId = 501, Level = LogLevel.Information, Message = "{Function} <- queue {Queue} message {MessageId} (dequeue {DequeueCount}): {Milliseconds} ms, {Outcome}")]
    private static partial void LogInvocation(ILogger logger, string function, string queue, string messageId, long dequeueCount, long milliseconds, string outcome);

    [LoggerMessage(EventId = 502, Level = LogLevel.Warning, Message = "Message {MessageId} of queue {Queue} moved to {PoisonQueue} after {DequeueCount} dequeues")]
    private static partial void LogPoisoned(ILogger logger, string messageId, string queue, string poisonQueue, long dequeueCount);

    [LoggerMessage(EventId = 503, Level = LogLevel.Warning, Message = "Polling queue {Queue} failed: {Reason}")]
    private static partial void LogPollFailed(ILogger logger, string queue, string reason);

    [LoggerMessage(EventId = 504, Level = LogLevel.Warning, Message = "Keeping message {MessageId} invisible failed ({Reason}): it may run twice")]
    private static partial void LogRenewFailed(ILogger logger, string messageId, string reason);
}
