using System.ComponentModel.DataAnnotations;

namespace SmartApp.Functions.Http;

/// <summary>The per-user request rate at the HTTP edge: section <c>RateLimit</c>.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "RateLimit";

    /// <summary>Requests a user may make per minute on one instance (a token bucket; bursts up to this many).</summary>
    [Range(1, 1_000_000)]
    public int RequestsPerMinute { get; set; } = 600;
}
