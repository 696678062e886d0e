using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Search;
using SmartApp.Domain.Common.Telemetry;

namespace SmartApp.Domain.Files.Ingestion;

/// <summary>
/// Reads a stored file into searchable chunks: extract text (pages kept), chunk, embed, index. Each
/// stage's progress is written to the file's record; a failure is recorded with a reason a user can act on.
/// </summary>
public sealed partial class FileIngestor(IFileStore files, IFileContentStore contents, IEmbedder embedder, IOptions<FilesOptions> options, TimeProvider clock, ILogger<FileIngestor> logger)
{
    /// <summary>Ingests the file unless another worker holds it or it is done. Never throws for a bad file; it marks it failed.</summary>
    public async Task IngestAsync(string userId, string fileId, CancellationToken cancellationToken)
    {
        var file = await files.FindAsync(userId, fileId, cancellationToken).ConfigureAwait(false);
        if (file is null || file.Status is not (FileStatus.Queued or FileStatus.Processing)) return;
        if (file.Status == FileStatus.Processing && clock.GetUtcNow() - file.UpdatedAt < options.Value.IngestionStallTimeout) return; // someone is on it

        var format = FileFormats.Declared(file.Name, file.ContentType);
        if (format == FileFormat.Unsupported)
        {
            await files.TryUpdateAsync(userId, file with { Status = FileStatus.NotIndexed, UpdatedAt = clock.GetUtcNow() }, cancellationToken).ConfigureAwait(false);
            return;
        }
        // Claim it: only the worker whose update lands goes on.
        var claimed = file with { Status = FileStatus.Processing, Attempts = file.Attempts + 1, Errors = [], UpdatedAt = clock.GetUtcNow(), Stages = new Dictionary<IngestionStage, StageProgress>() };
        file = await files.TryUpdateAsync(userId, claimed, cancellationToken).ConfigureAwait(false);
        if (file is null) return;

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            file = await RunAsync(userId, file, format, cancellationToken).ConfigureAwait(false);
            SmartAppTelemetry.FilesIngested.Add(1, new KeyValuePair<string, object?>("outcome", "indexed"));
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
        }
    }

    private async Task<StoredFile> RunAsync(string userId, StoredFile file, FileFormat format, CancellationToken cancellationToken)
    {
        var stage = System.Diagnostics.Stopwatch.StartNew();
        void Finished(IngestionStage name)
        {
            SmartAppTelemetry.IngestionStageDuration.Record(stage.Elapsed.TotalSeconds, new KeyValuePair<string, object?>("stage", name.ToString().ToLowerInvariant()));
            stage.Restart();
        }
        IReadOnlyList<ExtractedPage> pages;
        await using (var content = await contents.DownloadToTempAsync(userId, file.Id, cancellationToken).ConfigureAwait(false))
        {
            var head = new byte[8];
            var read = await content.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (!FileFormats.HeadMatches(format, head.AsSpan(0, read)))
                throw new IngestionException($"The file's bytes are not {format} as its type says; upload it with its real content type.");
            content.Position = 0;
            try
            {
                pages = await Task.Run(() => TextExtractor.Extract(content, format, cancellationToken), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw new IngestionException($"The file could not be read as {format}: it may be damaged or protected.", ex);
            }
        }
        file = await SaveAsync(userId, file.WithStage(IngestionStage.Extract, pages.Count, pages.Count, clock.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        Finished(IngestionStage.Extract);

        var pieces = Chunker.Split(pages, options.Value.ChunkCharacters);
        if (pieces.Count == 0)
            throw new IngestionException("The file has no text to index (a scanned document needs OCR first).");
        var chunks = pieces.Select((p, i) => new FileChunk(Adapters.Cosmos.ChunkDocument.IdFor(file.Id, i), file.Id, i, p.Page, p.Start, p.End, p.Text)).ToList();
        file = await SaveAsync(userId, file.WithStage(IngestionStage.Chunk, chunks.Count, chunks.Count, clock.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        Finished(IngestionStage.Chunk);

        var embedded = new List<(FileChunk, float[])>(chunks.Count);
        foreach (var batch in chunks.Chunk(options.Value.EmbedBatchSize))
        {
            var embeddings = await embedder.EmbedAsync(batch.Select(c => c.Text).ToList(), cancellationToken).ConfigureAwait(false);
            embedded.AddRange(batch.Zip(embeddings));
            file = await SaveAsync(userId, file.WithStage(IngestionStage.Embed, embedded.Count, chunks.Count, clock.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        }

        Finished(IngestionStage.Embed);
        await files.WriteChunksAsync(userId, file.Id, embedded, cancellationToken).ConfigureAwait(false);
        Finished(IngestionStage.Index);
        var now = clock.GetUtcNow();
        return await SaveAsync(userId, file.WithStage(IngestionStage.Index, chunks.Count, chunks.Count, now) with
        {
            Status = FileStatus.Indexed,
            ChunkCount = chunks.Count,
            IndexedAt = now,
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Records progress; if the file was deleted or taken over meanwhile, this ingestion stops.</summary>
    private async Task<StoredFile> SaveAsync(string userId, StoredFile file, CancellationToken cancellationToken) =>
        await files.TryUpdateAsync(userId, file, cancellationToken).ConfigureAwait(false) ?? throw new IngestionAbandonedException();

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Ingested file {FileId}: {Chunks} chunks in {ElapsedMs:F0} ms")]
    private static partial void LogIngested(ILogger logger, string fileId, int chunks, double elapsedMs);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Ingestion of file {FileId} failed (attempt {Attempt}, giving up: {GiveUp})")]
    private static partial void LogFailed(ILogger logger, Exception exception, string fileId, int attempt, bool giveUp);
}

/// <summary>The file was deleted or taken over by another worker while this one ingested it.</summary>
internal sealed class IngestionAbandonedException() : Exception("The file changed during ingestion.");

/// <summary>A file that cannot be ingested as it is; the message tells the user why.</summary>
public sealed class IngestionException(string message, Exception? inner = null) : Exception(message, inner);
