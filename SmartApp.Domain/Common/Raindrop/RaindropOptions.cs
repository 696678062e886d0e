using System.ComponentModel.DataAnnotations;

namespace SmartApp.Domain.Common.Raindrop;

/// <summary>Where a capability's smart operations run: locally on Azure storage only, or on Raindrop (mirrored from Azure, with local fallback).</summary>
public enum SmartProvider
{
    Azure,
    Raindrop,
}

/// <summary>The names of the providers results come from, as clients see them (a <c>provider</c> field).</summary>
public static class Providers
{
    public const string Azure = "azure", Raindrop = "raindrop";
}

/// <summary>LiquidMetal Raindrop: section <c>Raindrop</c>. Used by the capabilities whose <c>Provider</c> is <c>Raindrop</c>.</summary>
public sealed class RaindropOptions
{
    public const string Section = "Raindrop";

    [Required, Url]
    public string BaseUrl { get; set; } = "https://api.raindrop.run";

    /// <summary>The API key (a Key Vault reference in Azure). Empty: Raindrop is not used, whatever the providers say.</summary>
    public string ApiKey { get; set; } = "";

    /// <summary>The Raindrop application that holds the smart components, and its version id.</summary>
    [Required]
    public string ApplicationName { get; set; } = "smartapp";

    public string Version { get; set; } = "";

    /// <summary>The SmartBucket files are mirrored to.</summary>
    [Required]
    public string BucketName { get; set; } = "smartapp-files";

    /// <summary>The SmartMemory memories are mirrored to. Each user's procedures are a procedural memory of their own in it.</summary>
    [Required]
    public string MemoryName { get; set; } = "smartapp-memory";

    /// <summary>The SmartSQL database data tables are mirrored to (one SQL table per user and table).</summary>
    [Required]
    public string SqlName { get; set; } = "smartapp-data";

    /// <summary>Files larger than this stay searchable locally only (an object is sent to Raindrop in one request).</summary>
    [Range(1, long.MaxValue)]
    public long MaxMirroredFileBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>How long a read (search, question) waits for Raindrop before answering from the local path.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>One attempt's limit (the API's own client waits 60 s).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the circuit stays open after repeated failures (reads go local meanwhile).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// When the mirror looks for new changes: the <c>MirrorToRaindrop</c> timer's six-field NCRONTAB schedule
    /// (the host reads it as <c>%Raindrop:MirrorSchedule%</c>; every 2 seconds by default).
    /// </summary>
    [Required, RegularExpression(@"^\S+( \S+){5}$", ErrorMessage = "Raindrop:MirrorSchedule is a six-field NCRONTAB expression (seconds first).")]
    public string MirrorSchedule { get; set; } = "*/2 * * * * *";

    /// <summary>The longest wait between ticks that try an area while Raindrop keeps failing (the wait doubles from 1 s up to this).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan MirrorMaxBackoff { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Changes read from the change feed at a time.</summary>
    [Range(1, 1000)]
    public int MirrorBatchSize { get; set; } = 100;

    public bool IsConfigured => !string.IsNullOrWhiteSpace(ApiKey);

    /// <summary>Whether a capability set to <paramref name="provider"/> runs on Raindrop: it says so, and a key is set.</summary>
    public bool Serves(SmartProvider provider) => provider == SmartProvider.Raindrop && IsConfigured;
}
