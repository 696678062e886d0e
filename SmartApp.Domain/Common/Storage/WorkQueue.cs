using System.Text.Json;
using Azure;
using Azure.Storage.Queues;
using Microsoft.Extensions.Logging;

namespace SmartApp.Domain.Common.Storage;

/// <summary>
/// The Storage queues that carry work past the request that asked for it; each has a queue-triggered
/// function, and its poison queue (<c>&lt;name&gt;-poison</c>, where the host moves a message that failed
/// <c>maxDequeueCount</c> times) has one too.
/// </summary>
public static class WorkQueues
{
    public const string FileIngestion = "file-ingestion";
    public const string AccountDeletion = "account-deletion";
    public const string MemoryLearning = "memory-learning";
    public const string ConversationTitles = "conversation-titles";
    public const string PoisonSuffix = "-poison";

    public static readonly IReadOnlyList<string> All = [FileIngestion, AccountDeletion, MemoryLearning, ConversationTitles];
}

/// <summary>
/// Puts a message on a work queue as the Functions host reads it: JSON, base64-encoded (the host's
/// default <c>messageEncoding</c>). The record the message names is always written first, so a message
/// that cannot be sent is not lost work: the sweep of that record's kind sends it again.
/// </summary>
public sealed partial class WorkQueue(QueueServiceClient queues, ILogger<WorkQueue> logger)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Task> _created = new(StringComparer.Ordinal);

    /// <summary>Sends <paramref name="message"/>; false (logged) when the queue cannot be reached.</summary>
    public async Task<bool> TrySendAsync<T>(string queue, T message, CancellationToken cancellationToken)
    {
        try
        {
            var client = queues.GetQueueClient(queue);
            await _created.GetOrAdd(queue, _ => client.CreateIfNotExistsAsync(cancellationToken: CancellationToken.None)).ConfigureAwait(false);
            await client.SendMessageAsync(JsonSerializer.Serialize(message, JsonDefaults.Options), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or AggregateException)
        {
            _created.TryRemove(queue, out _);
            LogSendFailed(logger, queue, ex.Message);
            return false;
        }
    }

    /// <summary>Samples each work queue's and poison queue's length and oldest message for the queue metrics.</summary>
    public async Task SampleAsync(TimeProvider clock, CancellationToken cancellationToken)
    {
        foreach (var name in WorkQueues.All.SelectMany(q => new[] { q, q + WorkQueues.PoisonSuffix }))
        {
            try
            {
                var client = queues.GetQueueClient(name);
                var length = (await client.GetPropertiesAsync(cancellationToken).ConfigureAwait(false)).Value.ApproximateMessagesCount;
                var oldest = length == 0 ? null : (await client.PeekMessagesAsync(1, cancellationToken).ConfigureAwait(false)).Value.FirstOrDefault()?.InsertedOn;
                Telemetry.SmartAppTelemetry.QueueSamples[name] = (length, oldest is { } at ? Math.Max(0, (clock.GetUtcNow() - at).TotalSeconds) : 0);
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                Telemetry.SmartAppTelemetry.QueueSamples[name] = (0, 0); // not created yet: nothing has been sent
            }
        }
    }

    /// <summary>Reads a message the host delivered; null (logged) when it is not the JSON of <typeparamref name="T"/>.</summary>
    public static T? Read<T>(string text, ILogger logger) where T : class
    {
        try
        {
            return text.Length <= 64 * 1024 ? JsonSerializer.Deserialize<T>(text, JsonDefaults.Options) : null;
        }
        catch (JsonException)
        {
            LogUnreadable(logger, typeof(T).Name);
            return null;
        }
    }

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "Could not send a message to queue {Queue} ({Reason}); the sweep sends it again")]
    private static partial void LogSendFailed(ILogger logger, string queue, string reason);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Error, Message = "A queue message is not a {Kind}; it is dropped")]
    private static partial void LogUnreadable(ILogger logger, string kind);
}
