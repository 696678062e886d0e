using System.ComponentModel.DataAnnotations;

namespace SmartApp.Domain.Files;

/// <summary>File limits and ingestion tuning: section <c>Files</c>.</summary>
public sealed class FilesOptions : IValidatableObject
{
    public const string Section = "Files";

    /// <summary><c>Azure</c>: search and questions run locally. <c>Raindrop</c>: files are mirrored to a SmartBucket, which serves them while it is healthy.</summary>
    public Common.Raindrop.SmartProvider Provider { get; set; } = Common.Raindrop.SmartProvider.Azure;

    /// <summary>Largest file, through either upload path.</summary>
    [Range(1, 5L * 1024 * 1024 * 1024)]
    public long MaxFileBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>How long upload and download URLs stay valid.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "1.00:00:00")]
    public TimeSpan SignedUrlLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Target chunk length in characters; neighbouring chunks overlap by a tenth of it.</summary>
    [Range(200, 8000)]
    public int ChunkCharacters { get; set; } = 1000;

    /// <summary>Chunks embedded per batch (progress is recorded after each).</summary>
    [Range(1, 512)]
    public int EmbedBatchSize { get; set; } = 64;

    /// <summary>
    /// How long one invocation embeds before it stops after a batch and leaves the rest to a follow-up message
    /// (well inside host.json's functionTimeout, 10 minutes, so no invocation nears it).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:30:00")]
    public TimeSpan IngestionSliceBudget { get; set; } = TimeSpan.FromMinutes(4);

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

    /// <summary>Bytes of search rows one instance keeps in memory (least recently searched users are dropped first).</summary>
    [Range(1024 * 1024, 64L * 1024 * 1024 * 1024)]
    public long SearchIndexMaxBytes { get; set; } = 640L * 1024 * 1024;

    /// <summary>Bytes of search rows one user may take of that; a user with more is searched page by page, never held.</summary>
    [Range(16 * 1024, 64L * 1024 * 1024 * 1024)]
    public long SearchIndexMaxUserBytes { get; set; } = 320L * 1024 * 1024;

    public Common.Search.SearchIndexLimits SearchIndexLimits => new(SearchIndexMaxBytes, SearchIndexMaxUserBytes, SearchIndexMaxAge);

    /// <summary>How long a direct upload may wait for <c>complete</c> after its URL expired; then the sweep removes it and its bytes.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan UploadCompletionGrace { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How long after it began a direct upload may get new URLs (a large file on a slow link outlasts one URL); storage
    /// keeps blocks not yet committed for a week, so at most that.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:05", "7.00:00:00")]
    public TimeSpan MaxUploadDuration { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// When the sweep looks for ingestions whose message was lost or stalled and for uploads to remove: the
    /// <c>SweepFiles</c> timer's six-field NCRONTAB schedule (the host reads it as <c>%Files:SweepSchedule%</c>).
    /// </summary>
    [Required, RegularExpression(@"^\S+( \S+){5}$", ErrorMessage = "Files:SweepSchedule is a six-field NCRONTAB expression (seconds first).")]
    public string SweepSchedule { get; set; } = "0 */1 * * * *";

    /// <summary>Text kept from one file (characters); a file with more is failed with the reason.</summary>
    [Range(1_000, 1_000_000_000)]
    public long MaxExtractedCharacters { get; set; } = 20_000_000;

    /// <summary>HTML and Markdown source read from one file (characters): the parsers hold it whole.</summary>
    [Range(1_000, 1_000_000_000)]
    public long MaxMarkupCharacters { get; set; } = 40_000_000;

    /// <summary>What an Office package or a PDF's streams may expand to in total when decompressed.</summary>
    [Range(1024, 16L * 1024 * 1024 * 1024)]
    public long MaxPackageBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>Parts an Office package may have.</summary>
    [Range(1, 1_000_000)]
    public int MaxPackageEntries { get; set; } = 10_000;

    /// <summary>How many times a part of 1 MB or more may expand over its compressed size (text XML compresses 10–30 times).</summary>
    [Range(2, 100_000)]
    public double MaxCompressionRatio { get; set; } = 200;

    /// <summary>What one PDF stream may expand to (PDF readers decode a stream whole).</summary>
    [Range(1024, 4L * 1024 * 1024 * 1024)]
    public long MaxPdfStreamBytes { get; set; } = 64L * 1024 * 1024;

    [Range(1, 1_000_000)]
    public int MaxPdfPages { get; set; } = 5_000;

    /// <summary>How deeply a document's elements may nest (XML, HTML, Markdown, PDF objects).</summary>
    [Range(8, 10_000)]
    public int MaxNestingDepth { get; set; } = 256;

    /// <summary>Time one file's text extraction may take; shorter than <see cref="IngestionStallTimeout"/>, so a slow file is never taken up twice at once.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:30:00")]
    public TimeSpan ExtractionTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>How far the instance's resident memory may grow while one file is read.</summary>
    [Range(16L * 1024 * 1024, 64L * 1024 * 1024 * 1024)]
    public long ExtractionMemoryBytes { get; set; } = 512L * 1024 * 1024;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ExtractionTimeout >= IngestionStallTimeout)
            yield return new ValidationResult("Files:ExtractionTimeout must be shorter than Files:IngestionStallTimeout.", [nameof(ExtractionTimeout)]);
    }
}
