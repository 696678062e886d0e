using System.ComponentModel.DataAnnotations;

namespace SmartApp.Domain.Data;

/// <summary>Data limits: section <c>Data</c>.</summary>
public sealed class DataOptions
{
    public const string Section = "Data";

    /// <summary><c>Azure</c>: questions go to the model, which writes a structured query. <c>Raindrop</c>: tables are mirrored to SmartSQL, which answers questions while it is healthy and caught up.</summary>
    public Common.Raindrop.SmartProvider Provider { get; set; } = Common.Raindrop.SmartProvider.Azure;

    /// <summary>Largest record, in UTF-8 bytes of its JSON.</summary>
    [Range(64, 1536 * 1024)]
    public int MaxRecordBytes { get; set; } = 64 * 1024;

    /// <summary>Tables one user may have.</summary>
    [Range(1, 10_000)]
    public int MaxTables { get; set; } = 50;

    /// <summary>How long the model may take to turn a question into a query.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan AskTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
