namespace SmartApp.DevHost.Triggers;

/// <summary>
/// host.json <c>extensions.queues</c>, with the Storage Queues extension's defaults (<c>QueuesOptions</c>):
/// batches of 16, a new batch once at most half a batch per processor runs, failed messages visible again
/// at once, five dequeues before the poison queue, polling backing off to one minute when the queue is empty.
/// </summary>
public sealed record QueueOptions
{
    public int BatchSize { get; init; } = 16;
    public int? NewBatchThreshold { get; init; }
    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.Zero;
    public int MaxDequeueCount { get; init; } = 5;
    public TimeSpan MaxPollingInterval { get; init; } = TimeSpan.FromMinutes(1);
    public string MessageEncoding { get; init; } = "base64";

    /// <summary>At most this many running before a new batch is fetched (the extension's default: processors × half a batch).</summary>
    public int Threshold => NewBatchThreshold ?? Environment.ProcessorCount * BatchSize / 2;

    /// <summary>The visibility a message gets when it is received, renewed while its function runs (the host's 10 minutes).</summary>
    public static readonly TimeSpan ReceiveVisibility = TimeSpan.FromMinutes(10);

    /// <summary>The shortest wait between polls (the host's <c>QueuePollingIntervals.Minimum</c>).</summary>
    public static readonly TimeSpan MinPollingInterval = TimeSpan.FromMilliseconds(100);
}
