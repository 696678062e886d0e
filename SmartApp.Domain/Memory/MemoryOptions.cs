using System.ComponentModel.DataAnnotations;

namespace SmartApp.Domain.Memory;

/// <summary>Memory limits and tuning: section <c>Memory</c>.</summary>
public sealed class MemoryOptions
{
    public const string Section = "Memory";

    /// <summary><c>Azure</c>: search runs locally. <c>Raindrop</c>: memory is mirrored to SmartMemory, which serves search while it is healthy and caught up.</summary>
    public Common.Raindrop.SmartProvider Provider { get; set; } = Common.Raindrop.SmartProvider.Azure;

    /// <summary>Largest memory content or procedure value, in UTF-8 bytes.</summary>
    [Range(1, 1024 * 1024)]
    public int MaxContentBytes { get; set; } = 32 * 1024;

    /// <summary>Largest semantic document, in UTF-8 bytes of its JSON.</summary>
    [Range(1, 1536 * 1024)]
    public int MaxDocumentBytes { get; set; } = 256 * 1024;

    /// <summary>How long the model may take to summarise a session before the extractive summary is written instead.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan SummaryTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>At most this many of a session's most recent memories go into its summary.</summary>
    [Range(1, 10_000)]
    public int MaxSummaryEntries { get; set; } = 500;

    /// <summary>
    /// How long an instance trusts that a session it saw open is still open. Writes in a burst read the
    /// session once; a session ended on another instance may take one more write within this time.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan OpenSessionCacheDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Bytes of search rows one instance keeps in memory (least recently searched users are dropped first).</summary>
    [Range(1024 * 1024, 64L * 1024 * 1024 * 1024)]
    public long SearchIndexMaxBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Bytes of search rows one user may take of that; a user with more is searched page by page, never held.</summary>
    [Range(16 * 1024, 64L * 1024 * 1024 * 1024)]
    public long SearchIndexMaxUserBytes { get; set; } = 64L * 1024 * 1024;

    public Common.Search.SearchIndexLimits SearchIndexLimits => new(SearchIndexMaxBytes, SearchIndexMaxUserBytes, SearchIndexMaxAge);

    /// <summary>Whether facts are learned from chat turns at all (each user can also turn learning off for themselves).</summary>
    public bool Learning { get; set; } = true;

    /// <summary>How long each of learning's model calls may take before the turn's learning is tried again.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan LearningTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>At most this many facts are learned from one turn.</summary>
    [Range(1, 50)]
    public int MaxLearnedFactsPerTurn { get; set; } = 8;

    /// <summary>A user's search index is rebuilt from storage at least this often (it is brought up to date on every search).</summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00")]
    public TimeSpan SearchIndexMaxAge { get; set; } = TimeSpan.FromMinutes(10);
}
