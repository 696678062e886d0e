using Microsoft.Extensions.Options;

namespace SmartApp.Domain.Identity;

/// <summary>
/// The web app's origins (<see cref="AuthOptions.AllowedOrigins"/>): the only places a browser is sent
/// back to after sign-in, sign-out or payment, and the only origins a cookie-authenticated change may come from.
/// </summary>
public sealed class AllowedOrigins(IOptions<AuthOptions> options)
{
    private const int MaxUrlLength = 2048;

    public bool IsAllowedOrigin(string origin) =>
        options.Value.AllowedOrigins.Any(allowed => string.Equals(allowed.TrimEnd('/'), origin.TrimEnd('/'), StringComparison.OrdinalIgnoreCase));

    /// <summary>An absolute http(s) URL on an allowed origin.</summary>
    public bool IsAllowedUrl(string url) =>
        url.Length <= MaxUrlLength && !url.Any(char.IsControl)
        && Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http" && string.IsNullOrEmpty(uri.UserInfo)
        && IsAllowedOrigin(uri.GetLeftPart(UriPartial.Authority));

    /// <summary>A relative path on this app (not protocol-relative), or an absolute URL on an allowed origin.</summary>
    public bool IsAllowedReturn(string returnTo)
    {
        if (returnTo.Length > MaxUrlLength || returnTo.Any(char.IsControl)) return false;
        if (returnTo.StartsWith('/')) return !returnTo.StartsWith("//", StringComparison.Ordinal) && !returnTo.StartsWith("/\\", StringComparison.Ordinal);
        return IsAllowedUrl(returnTo);
    }
}
