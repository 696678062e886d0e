using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Search;
using SmartApp.Domain.Common.Telemetry;

namespace SmartApp.Domain.Files.Ingestion;

/// <summary>
/// Reads a stored file into searchable chunks: extract text (pages kept), chunk, embed, index. Each
/// stage's progress is written to the file's record; a failure is recorded with a reason a user can act on.
/// </summary>
public sealed partial class FileIngestor(
    IFileStore files, IFileContentStore contents, IEmbedder embedder, Common.Quotas.IQuotaGate quotas, IOptions<FilesOptions> options, TimeProvider clock, ILogger<FileIngestor> logger)
{
    /// <summary>
    /// Ingests the file unless another worker holds it or it is done. Never throws for a bad file; it marks it
    /// failed. <see cref="IngestionOutcome.TryAgain"/> when this attempt failed and another may succeed (the file
    /// is queued again). <paramref name="messageId"/> is the queue message that asked: a claim made for the same
    /// message is taken over (the host delivers a message again only after its earlier run failed or was lost).
    /// </summary>
    public async Task<IngestionOutcome> IngestAsync(string userId, string fileId, string? messageId, CancellationToken cancellationToken)
    {
        var file = await files.FindAsync(userId, fileId, cancellationToken).ConfigureAwait(false);
        if (file is null || file.Status is not (FileStatus.Queued or FileStatus.Processing)) return IngestionOutcome.Done;
        if (file.Status == FileStatus.Processing && (messageId is null || file.ClaimedBy != messageId)
            && clock.GetUtcNow() - file.UpdatedAt < options.Value.IngestionStallTimeout)
            return IngestionOutcome.Done; // someone is on it

        var format = FileFormats.Declared(file.Name, file.ContentType);
        if (format == FileFormat.Unsupported)
        {
            await files.TryUpdateAsync(userId, file with { Status = FileStatus.NotIndexed, UpdatedAt = clock.GetUtcNow() }, cancellationToken).ConfigureAwait(false);
            return IngestionOutcome.Done;
        }
        // Attempts are counted when a file is claimed, so one that took its worker down (which never reaches
        // the catch below) is not claimed more than MaxIngestionAttempts times in all, on any instance.
        if (file.Attempts >= options.Value.MaxIngestionAttempts)
        {
            await GiveUpAsync(userId, file, file.Attempts,
                $"Reading the file stopped {file.Attempts} times without finishing (it may need more time or memory than one file is given); retry it, or split it into smaller files.",
                cancellationToken).ConfigureAwait(false);
            return IngestionOutcome.Done;
        }
        // Claim it: only the worker whose update lands goes on. A planned continuation keeps its progress and is no new attempt.
        var continuing = file.ContinueAt is not null;
        var claimed = file with
        {
            Status = FileStatus.Processing,
            Attempts = continuing && file.Status == FileStatus.Queued ? file.Attempts : file.Attempts + 1,
            Errors = [],
            UpdatedAt = clock.GetUtcNow(),
            Stages = continuing ? file.Stages : new Dictionary<IngestionStage, StageProgress>(),
            ClaimedBy = messageId,
        };
        file = await files.TryUpdateAsync(userId, claimed, cancellationToken).ConfigureAwait(false);
        if (file is null) return IngestionOutcome.Done;

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            file = await RunAsync(userId, file, format, cancellationToken).ConfigureAwait(false);
            if (file.Status == FileStatus.Queued)
            {
                LogContinues(logger, fileId, file.ContinueAt ?? 0, file.PassagesGranted ?? 0);
                return IngestionOutcome.Continue;
            }
            SmartAppTelemetry.FilesIngested.Add(1, new KeyValuePair<string, object?>("outcome", "indexed"));
            SmartAppTelemetry.IngestionLatency.Record((clock.GetUtcNow() - file.CreatedAt).TotalSeconds);
            LogIngested(logger, fileId, file.ChunkCount, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw; // shutting down: the stall sweep takes it up again
        }
        catch (IngestionAbandonedException)
        {
            // Deleted, or taken over after a stall: nothing to record.
        }
        catch (Exception ex)
        {
            var reason = ex is IngestionException ? ex.Message : $"Ingestion failed unexpectedly ({ex.GetType().Name}); retry the file.";
            var giveUp = file.Attempts >= options.Value.MaxIngestionAttempts || ex is IngestionException;
            LogFailed(logger, ex, fileId, file.Attempts, giveUp);
            SmartAppTelemetry.FilesIngested.Add(1, new KeyValuePair<string, object?>("outcome", giveUp ? "failed" : "retrying"));
            var current = await files.FindAsync(userId, fileId, CancellationToken.None).ConfigureAwait(false);
            if (current is not null)
                await files.TryUpdateAsync(userId, current with
                {
                    Status = giveUp ? FileStatus.Failed : FileStatus.Queued,
                    Errors = [reason],
                    UpdatedAt = clock.GetUtcNow(),
                }, CancellationToken.None).ConfigureAwait(false);
            return giveUp ? IngestionOutcome.Done : IngestionOutcome.TryAgain;
        }
        return IngestionOutcome.Done;
    }

    /// <summary>
    /// The file's ingestion failed as often as the queue allows (its message reached the poison queue):
    /// it is failed with the reason, unless it finished meanwhile.
    /// </summary>
    public async Task GiveUpAsync(string userId, string fileId, int attempts, CancellationToken cancellationToken)
    {
        var file = await files.FindAsync(userId, fileId, cancellationToken).ConfigureAwait(false);
        if (file is null || file.Status is not (FileStatus.Queued or FileStatus.Processing)) return;
        await GiveUpAsync(userId, file, attempts, $"Reading the file failed {attempts} times without finishing; retry it, or split it into smaller files.", cancellationToken, poisoned: true).ConfigureAwait(false);
    }

    private async Task GiveUpAsync(string userId, StoredFile file, int attempts, string reason, CancellationToken cancellationToken, bool poisoned = false)
    {
        LogGaveUp(logger, file.Id, attempts);
        SmartAppTelemetry.FilesIngested.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
        if (poisoned) SmartAppTelemetry.Poisoned.Add(1, new KeyValuePair<string, object?>("queue", Common.Storage.WorkQueues.FileIngestion));
        await files.TryUpdateAsync(userId, file with { Status = FileStatus.Failed, Errors = [reason], UpdatedAt = clock.GetUtcNow() }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<StoredFile> RunAsync(string userId, StoredFile file, FileFormat format, CancellationToken cancellationToken)
    {
        var stage = System.Diagnostics.Stopwatch.StartNew();
        void Finished(IngestionStage name)
        {
            SmartAppTelemetry.IngestionStageDuration.Record(stage.Elapsed.TotalSeconds, new KeyValuePair<string, object?>("stage", EnumNames.Of(name)));
            stage.Restart();
        }
        IReadOnlyList<ExtractedPage> pages;
        await using (var content = await DownloadVerifiedAsync(userId, file, cancellationToken).ConfigureAwait(false))
        {
            var head = new byte[8];
            var read = await content.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (!FileFormats.HeadMatches(format, head.AsSpan(0, read)))
                throw new IngestionException($"The file's bytes are not {format} as its type says; upload it with its real content type.");
            content.Position = 0;
            pages = await ExtractBoundedAsync(content, format, cancellationToken).ConfigureAwait(false);
        }
        file = await SaveAsync(userId, file.WithStage(IngestionStage.Extract, pages.Count, pages.Count, clock.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        Finished(IngestionStage.Extract);

        var pieces = Chunker.Split(pages, options.Value.ChunkCharacters);
        if (pieces.Count == 0)
            throw new IngestionException("The file has no text to index (a scanned document needs OCR first).");
        // The plan's passages: granted (and counted) once per file, before the embedding work; the rest is not indexed, with the reason.
        if (file.PassagesGranted is not { } granted)
        {
            var grant = await quotas.GrantPassagesAsync(userId, pieces.Count, cancellationToken).ConfigureAwait(false);
            granted = grant.Granted;
            file = await SaveAsync(userId, file with
            {
                PassagesGranted = granted,
                NotIndexed = granted < pieces.Count ? new NotIndexedPart(pieces.Count - granted, grant.Reason ?? "Past the plan's allowance.") : null,
            }, cancellationToken).ConfigureAwait(false);
        }
        if (granted == 0)
            return await SaveAsync(userId, file with { Status = FileStatus.NotIndexed, Errors = [file.NotIndexed!.Reason], UpdatedAt = clock.GetUtcNow() }, cancellationToken).ConfigureAwait(false);
        var chunks = pieces.Take(granted).Select((p, i) => new FileChunk(Adapters.Cosmos.ChunkDocument.IdFor(file.Id, i), file.Id, i, p.Page, p.Start, p.End, p.Text)).ToList();
        file = await SaveAsync(userId, file.WithStage(IngestionStage.Chunk, chunks.Count, chunks.Count, clock.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        Finished(IngestionStage.Chunk);

        // Each batch is stored as it is embedded; past the slice's budget the rest is left to a follow-up message.
        var done = Math.Clamp(file.ContinueAt ?? 0, 0, chunks.Count);
        var slice = System.Diagnostics.Stopwatch.StartNew();
        foreach (var batch in chunks.Skip(done).Chunk(options.Value.EmbedBatchSize))
        {
            var embeddings = await embedder.EmbedAsync(batch.Select(c => c.Text).ToList(), cancellationToken).ConfigureAwait(false);
            await files.AppendChunksAsync(userId, file.Id, [.. batch.Zip(embeddings)], cancellationToken).ConfigureAwait(false);
            done += batch.Length;
            file = await SaveAsync(userId, file.WithStage(IngestionStage.Embed, done, chunks.Count, clock.GetUtcNow()) with { ContinueAt = done }, cancellationToken).ConfigureAwait(false);
            if (done < chunks.Count && slice.Elapsed >= options.Value.IngestionSliceBudget)
                return await SaveAsync(userId, file with { Status = FileStatus.Queued, UpdatedAt = clock.GetUtcNow() }, cancellationToken).ConfigureAwait(false);
        }

        Finished(IngestionStage.Embed);
        await files.PruneChunksAsync(userId, file.Id, chunks.Count, cancellationToken).ConfigureAwait(false);
        Finished(IngestionStage.Index);
        var now = clock.GetUtcNow();
        return await SaveAsync(userId, file.WithStage(IngestionStage.Index, chunks.Count, chunks.Count, now) with
        {
            Status = FileStatus.Indexed,
            ChunkCount = chunks.Count,
            IndexedAt = now,
            ContinueAt = null,
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The stored bytes, checked against the record (length, SHA-256) before anything reads them.</summary>
    private async Task<Stream> DownloadVerifiedAsync(string userId, StoredFile file, CancellationToken cancellationToken)
    {
        try
        {
            return await contents.DownloadToTempAsync(userId, file.Id, new ExpectedContent(file.Size, file.Sha256), options.Value.MaxFileBytes, cancellationToken).ConfigureAwait(false);
        }
        catch (StoredContentMismatchException ex)
        {
            throw new IngestionException($"The stored bytes are not the ones that were uploaded ({ex.Message}); upload the file again.", ex);
        }
    }

    /// <summary>
    /// Extraction within the file's budget (characters, decompressed bytes, nesting, time, memory), on a
    /// thread of its own with a large stack, so even a parser's deep recursion cannot take the instance down.
    /// A parser that ignores the time budget is left behind once it is spent: the file fails either way.
    /// </summary>
    private async Task<IReadOnlyList<ExtractedPage>> ExtractBoundedAsync(Stream content, FileFormat format, CancellationToken cancellationToken)
    {
        using var budget = new ExtractionBudget(ExtractionLimits.From(options.Value), cancellationToken);
        var done = new TaskCompletionSource<IReadOnlyList<ExtractedPage>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                done.TrySetResult(TextExtractor.Extract(content, format, budget));
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        }, ExtractionStackBytes);
        thread.IsBackground = true;
        thread.Name = "file extraction";
        thread.Start();
        try
        {
            try
            {
                return await done.Task.WaitAsync(options.Value.ExtractionTimeout + AbandonAfter, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                LogExtractionAbandoned(logger, format.ToString());
                budget.Check();
                throw new ExtractionLimitException($"The document took longer than {options.Value.ExtractionTimeout.TotalSeconds:0} s to read; at most that long is spent on one file.");
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            if (ex is ExtractionLimitException) throw new IngestionException(ex.Message, ex);
            if (ex is OperationCanceledException) throw new IngestionException("The document took too long to read.", ex);
            throw new IngestionException($"The file could not be read as {format}: it may be damaged or protected.", ex);
        }
    }

    /// <summary>Stack for the extraction thread: parsers recurse per nesting level, and nesting is bounded well below what this holds.</summary>
    private const int ExtractionStackBytes = 64 * 1024 * 1024;

    /// <summary>How long past its time budget a parser that does not stop is waited for.</summary>
    private static readonly TimeSpan AbandonAfter = TimeSpan.FromSeconds(5);

    /// <summary>Records progress; if the file was deleted or taken over meanwhile, this ingestion stops.</summary>
    private async Task<StoredFile> SaveAsync(string userId, StoredFile file, CancellationToken cancellationToken) =>
        await files.TryUpdateAsync(userId, file, cancellationToken).ConfigureAwait(false) ?? throw new IngestionAbandonedException();

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Ingested file {FileId}: {Chunks} chunks in {ElapsedMs:F0} ms")]
    private static partial void LogIngested(ILogger logger, string fileId, int chunks, double elapsedMs);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Warning, Message = "File {FileId} was claimed {Attempts} times without finishing; it is failed")]
    private static partial void LogGaveUp(ILogger logger, string fileId, int attempts);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Error, Message = "A {Format} parser did not stop when its time budget was spent; its thread is left to finish")]
    private static partial void LogExtractionAbandoned(ILogger logger, string format);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Ingestion of file {FileId} failed (attempt {Attempt}, giving up: {GiveUp})")]
    private static partial void LogFailed(ILogger logger, Exception exception, string fileId, int attempt, bool giveUp);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Information, Message = "File {FileId}: {Done} of {Total} passages embedded; continues in a follow-up message")]
    private static partial void LogContinues(ILogger logger, string fileId, int done, int total);
}

/// <summary>The file was deleted or taken over by another worker while this one ingested it.</summary>
internal sealed class IngestionAbandonedException() : Exception("The file changed during ingestion.");

/// <summary>A file that cannot be ingested as it is; the message tells the user why.</summary>
/// <summary>How an ingestion attempt ended for its queue message: settled, or to be delivered again.</summary>
public enum IngestionOutcome
{
    Done,
    TryAgain,
    /// <summary>This invocation's slice is spent: the rest follows in a new message.</summary>
    Continue,
}

public sealed class IngestionException(string message, Exception? inner = null) : Exception(message, inner);
