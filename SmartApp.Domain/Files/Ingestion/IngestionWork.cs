using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Files.Ingestion;

/// <summary>A file waiting for ingestion, as its queue message carries it.</summary>
public sealed record FileIngestionMessage(string UserId, string FileId);

/// <summary>Ingestion asked for on the <see cref="WorkQueues.FileIngestion"/> queue, after the file's record is written.</summary>
public sealed class QueuedIngestion(WorkQueue queue) : IIngestionQueue
{
    public async ValueTask EnqueueAsync(string userId, string fileId, CancellationToken cancellationToken) =>
        await queue.TrySendAsync(WorkQueues.FileIngestion, new FileIngestionMessage(userId, fileId), cancellationToken).ConfigureAwait(false);
}

/// <summary>Thrown so the host delivers the message again: the attempt failed and another may succeed.</summary>
public sealed class IngestionRetryException(string fileId) : Exception($"Ingestion of file {fileId} failed; the message is delivered again.");

/// <summary>
/// What the queue- and timer-triggered functions run: one file's ingestion from its message, giving up
/// on a message the host moved to the poison queue, and the sweep that finds files whose message was lost
/// (the record written, the send failed or its instance went).
/// </summary>
public sealed partial class IngestionWork(IServiceProvider services, IFileStore files, IIngestionQueue queue, IOptions<FilesOptions> options, TimeProvider clock, ILogger<IngestionWork> logger)
{
    // Resolved when there is work: the ingestion machinery (the embedding model among it) loads on first use.
    private FileIngestor Ingestor => services.GetRequiredService<FileIngestor>();

    public async Task IngestAsync(string message, string messageId, CancellationToken cancellationToken)
    {
        if (Valid(WorkQueue.Read<FileIngestionMessage>(message, logger)) is not { } file) return;
        switch (await Ingestor.IngestAsync(file.UserId, file.FileId, messageId, cancellationToken).ConfigureAwait(false))
        {
            case IngestionOutcome.TryAgain:
                throw new IngestionRetryException(file.FileId);
            case IngestionOutcome.Continue:
                await queue.EnqueueAsync(file.UserId, file.FileId, cancellationToken).ConfigureAwait(false); // if it is lost, the sweep sends it
                break;
        }
    }

    public async Task GiveUpAsync(string message, int attempts, CancellationToken cancellationToken)
    {
        if (Valid(WorkQueue.Read<FileIngestionMessage>(message, logger)) is not { } file) return;
        await Ingestor.GiveUpAsync(file.UserId, file.FileId, attempts, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends again the message of each file whose ingestion is queued or stalled past the stall timeout.</summary>
    public async Task<int> ResendStalledAsync(CancellationToken cancellationToken)
    {
        var before = clock.GetUtcNow() - options.Value.IngestionStallTimeout;
        var sent = 0;
        await foreach (var (userId, fileId) in files.FindUnfinishedAsync(before, cancellationToken).ConfigureAwait(false))
        {
            await queue.EnqueueAsync(userId, fileId, cancellationToken).ConfigureAwait(false);
            sent++;
        }
        if (sent > 0) LogSwept(logger, sent);
        return sent;
    }

    private FileIngestionMessage? Valid(FileIngestionMessage? message)
    {
        if (message is { UserId.Length: > 0 and <= 128, FileId.Length: > 0 and <= 128 }) return message;
        LogInvalid(logger);
        return null;
    }

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "The sweep queued {Count} file(s) whose ingestion was lost or stalled")]
    private static partial void LogSwept(ILogger logger, int count);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Error, Message = "An ingestion message names no valid file; it is dropped")]
    private static partial void LogInvalid(ILogger logger);
}
