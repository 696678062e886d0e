using System.ComponentModel.DataAnnotations;

namespace SmartApp.Domain.Data;

/// <summary>Data limits: section <c>Data</c>.</summary>
public sealed class DataOptions
{
    public const string Section = "Data";

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
