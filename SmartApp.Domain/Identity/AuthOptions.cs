using System.ComponentModel.DataAnnotations;

namespace SmartApp.Domain.Identity;

public enum AuthMode
{
    /// <summary>Local demo users signed in by <c>POST /api/auth/demo</c>, with tokens signed by the app's own key.</summary>
    Demo,

    /// <summary>WorkOS AuthKit: tokens issued by WorkOS, verified against its published keys.</summary>
    WorkOS,
}

/// <summary>Sign-in settings: section <c>Auth</c>.</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    public AuthMode Mode { get; set; } = AuthMode.Demo;

    /// <summary>Demo mode is refused outside the Development environment unless this is set.</summary>
    public bool AllowDemoOutsideDevelopment { get; set; }

    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The <c>iss</c> of demo tokens.</summary>
    [Required]
    public string DemoIssuer { get; set; } = "smartapp-demo";

    /// <summary>The <c>aud</c> of the app's own tokens.</summary>
    [Required]
    public string Audience { get; set; } = "smartapp";

    /// <summary>Accepted difference between our clock and the token's times.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long an instance may serve a user record from memory (zero turns the cache off).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan UserCacheDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Web origins the app serves (e.g. https://app.example.com): where sign-in may return to, and
    /// the only origins from which cookie-authenticated requests may change anything.
    /// </summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>How long the browser has to finish signing in (the signed state cookie's lifetime).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "01:00:00")]
    public TimeSpan SignInTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Users with these emails may read operator-only routes such as <c>/api/health/details</c>.</summary>
    public string[] AdminEmails { get; set; } = [];

    /// <summary>Whether the user with this email may use operator routes.</summary>
    public bool IsAdmin(string? email) => email is not null && AdminEmails.Contains(email, StringComparer.OrdinalIgnoreCase);
}
