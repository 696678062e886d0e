using System.ComponentModel.DataAnnotations;

namespace SmartApp.Domain.Files;

/// <summary>File limits and ingestion tuning: section <c>Files</c>.</summary>
public sealed class FilesOptions
{
    public const string Section = "Files";

    /// <summary><c>Azure</c>: search and questions run locally. <c>Raindrop</c>: files are mirrored to a SmartBucket, which serves them while it is healthy.</summary>
    public Common.Raindrop.SmartProvider Provider { get; set; } = Common.Raindrop.SmartProvider.Azure;

    /// <summary>Largest file, through either upload path.</summary>
    [Range(1, 5L * 1024 * 1024 * 1024)]
    public long MaxFileBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>How long upload and download URLs stay valid.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan SignedUrlLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Target chunk length in characters; neighbouring chunks overlap by a tenth of it.</summary>
    [Range(200, 8000)]
    public int ChunkCharacters { get; set; } = 1000;

    /// <summary>Chunks embedded per batch (progress is recorded after each).</summary>
    [Range(1, 512)]
    public int EmbedBatchSize { get; set; } = 64;

    /// <summary>Files ingested at once by one instance.</summary>
    [Range(1, 16)]
    public int IngestionConcurrency { get; set; } = 1;

    /// <summary>An ingestion that has not moved for this long is taken up again (after a crash or restart).</summary>
    [Range(typeof(TimeSpan), "00:00:10", "01:00:00")]
    public TimeSpan IngestionStallTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Ingestion attempts before a file stays failed (a retry request starts a new round).</summary>
    [Range(1, 10)]
    public int MaxIngestionAttempts { get; set; } = 3;

    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan AnswerTimeout { get; set; } = TimeSpan.FromSeconds(30);

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan SearchIndexMaxAge { get; set; } = TimeSpan.FromMinutes(10);

    [Range(1_000, 10_000_000)]
    public int SearchIndexMaxEntries { get; set; } = 200_000;
}
