using Microsoft.Azure.Functions.Worker;
using SmartApp.Domain.Common.Storage;
using SmartApp.Domain.Files;
using SmartApp.Domain.Files.Ingestion;

namespace SmartApp.Functions.Files;

/// <summary>
/// File ingestion on the platform's own machinery: a queue message per file (the host keeps it invisible
/// while the function runs, delivers it again when the function fails, and moves it to the poison queue
/// after host.json's <c>maxDequeueCount</c>), and a timer that finds files whose message was lost.
/// </summary>
public sealed class IngestionFunctions(IngestionWork work, FileService files, WorkQueue queues, TimeProvider clock)
{
    [Function("IngestFile")]
    public Task Ingest([QueueTrigger(WorkQueues.FileIngestion)] string message, FunctionContext context) =>
        work.IngestAsync(message, MessageId(context), context.CancellationToken);

    [Function("IngestFilePoisoned")]
    public Task GiveUp([QueueTrigger(WorkQueues.FileIngestion + WorkQueues.PoisonSuffix)] string message, FunctionContext context) =>
        work.GiveUpAsync(message, MaxDequeueCount, context.CancellationToken);

    /// <summary>
    /// Files whose message was lost or whose ingestion stalled are queued again; abandoned direct uploads are
    /// removed; the work queues' length and oldest message are sampled for the metrics.
    /// </summary>
    [Function("SweepFiles")]
    public async Task Sweep([TimerTrigger("%Files:SweepSchedule%")] TimerInfo timer, FunctionContext context)
    {
        await work.ResendStalledAsync(context.CancellationToken);
        await files.SweepAbandonedUploadsAsync(context.CancellationToken);
        await queues.SampleAsync(clock, context.CancellationToken);
    }

    /// <summary>host.json's <c>extensions.queues.maxDequeueCount</c>: how many times a poisoned message was tried (HostFidelityTests holds the two equal).</summary>
    internal const int MaxDequeueCount = 5;

    internal static string MessageId(FunctionContext context) =>
        context.BindingContext.BindingData.TryGetValue("Id", out var id) && id is string text ? text : "";
}
