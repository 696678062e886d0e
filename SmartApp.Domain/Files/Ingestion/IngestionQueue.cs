using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SmartApp.Domain.Files.Ingestion;

/// <summary>
/// Ingestion in this process, after the upload has answered: a queue in memory, worked by
/// <see cref="Runner"/>. The file's record is the durable part: a queued or stalled ingestion is
/// found again by a sweep of the records (every minute and at start), so a restart loses none.
/// </summary>
public sealed partial class InProcessIngestionQueue : IIngestionQueue
{
    private readonly Channel<(string UserId, string FileId)> _channel = Channel.CreateUnbounded<(string, string)>(new UnboundedChannelOptions { SingleWriter = false });

    public ValueTask EnqueueAsync(string userId, string fileId, CancellationToken cancellationToken) =>
        _channel.Writer.WriteAsync((userId, fileId), cancellationToken);

    public sealed partial class Runner(InProcessIngestionQueue queue, IServiceProvider services, IOptions<FilesOptions> options, TimeProvider clock, ILogger<Runner> logger)
        : BackgroundService
    {
        // Resolved when there is work: start-up does not load the ingestion machinery (the embedding model's assemblies among it).
        private FileIngestor Ingestor => services.GetRequiredService<FileIngestor>();
        private IFileStore Files => services.GetRequiredService<IFileStore>();

        private static readonly TimeSpan StartDelay = TimeSpan.FromSeconds(5);

        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            var workers = Enumerable.Range(0, options.Value.IngestionConcurrency).Select(_ => WorkAsync(stoppingToken)).ToList();
            workers.Add(SweepAsync(stoppingToken));
            await Task.WhenAll(workers).ConfigureAwait(false);
        }

        private async Task WorkAsync(CancellationToken stoppingToken)
        {
            try
            {
                await foreach (var (userId, fileId) in queue._channel.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
                {
                    try
                    {
                        await Ingestor.IngestAsync(userId, fileId, stoppingToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                    {
                        LogIngestionError(logger, ex, fileId); // storage unavailable: the sweep tries again
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
        }

        private async Task SweepAsync(CancellationToken stoppingToken)
        {
            using var timer = new PeriodicTimer(options.Value.SweepInterval, clock);
            try
            {
                await Task.Delay(options.Value.SweepInterval < StartDelay ? options.Value.SweepInterval : StartDelay, clock, stoppingToken).ConfigureAwait(false); // let start-up finish first
                do
                {
                    try
                    {
                        var before = clock.GetUtcNow() - options.Value.IngestionStallTimeout;
                        await foreach (var (userId, fileId) in Files.FindUnfinishedAsync(before, stoppingToken).ConfigureAwait(false))
                            await queue.EnqueueAsync(userId, fileId, stoppingToken).ConfigureAwait(false);
                        await services.GetRequiredService<FileService>().SweepAbandonedUploadsAsync(stoppingToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                    {
                        LogSweepFailed(logger, ex);
                    }
                }
                while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
        }

        [LoggerMessage(EventId = 5003, Level = LogLevel.Warning, Message = "Ingestion of file {FileId} could not run; it will be taken up again")]
        private static partial void LogIngestionError(ILogger logger, Exception exception, string fileId);

        [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Could not look for unfinished ingestions and abandoned uploads; will look again")]
        private static partial void LogSweepFailed(ILogger logger, Exception exception);
    }
}
