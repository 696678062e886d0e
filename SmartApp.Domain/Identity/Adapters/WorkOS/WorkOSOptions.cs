using System.ComponentModel.DataAnnotations;

namespace SmartApp.Domain.Identity.Adapters.WorkOS;

/// <summary>WorkOS User Management (AuthKit) settings: section <c>WorkOS</c>. Required when Auth:Mode is WorkOS.</summary>
public sealed class WorkOSOptions
{
    public const string Section = "WorkOS";

    [Url]
    public string ApiBaseUrl { get; set; } = "https://api.workos.com";

    /// <summary>The AuthKit client id (<c>client_…</c>).</summary>
    public string ClientId { get; set; } = "";

    /// <summary>The API key (<c>sk_…</c>), also the client secret when exchanging codes. A Key Vault reference in Azure.</summary>
    public string ApiKey { get; set; } = "";

    /// <summary>The app's callback, registered with WorkOS (e.g. https://app.example.com/api/auth/callback).</summary>
    [Url]
    public string? RedirectUri { get; set; }

    /// <summary>
    /// Accepted <c>iss</c> values. Empty: the two forms WorkOS is known to issue,
    /// <c>{ApiBaseUrl}</c> and <c>{ApiBaseUrl}/user_management/{ClientId}</c>.
    /// </summary>
    public string[] Issuers { get; set; } = [];

    /// <summary>How long fetched signing keys are used before they are fetched again.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00")]
    public TimeSpan JwksCacheDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>At most one refetch of the keys per this interval when a token names an unknown key id.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan JwksRefetchCooldown { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// When users changed or deleted in WorkOS are brought up to date here from its events list: the <c>SyncWorkOSUsers</c>
    /// timer's six-field NCRONTAB schedule (read by the host as <c>%WorkOS:EventSyncSchedule%</c>; every 5 minutes by default).
    /// </summary>
    [Required, RegularExpression(@"^\S+( \S+){5}$", ErrorMessage = "WorkOS:EventSyncSchedule is a six-field NCRONTAB expression (seconds first).")]
    public string EventSyncSchedule { get; set; } = "0 */5 * * * *";

    /// <summary>Longest wait for one attempt of a call to WorkOS; a call with its two retries is bounded by three times this.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    public IReadOnlyList<string> EffectiveIssuers =>
        Issuers.Length > 0 ? Issuers : [ApiBaseUrl.TrimEnd('/'), $"{ApiBaseUrl.TrimEnd('/')}/user_management/{ClientId}"];
}
