namespace SmartApp.Domain.Common;

/// <summary>Ids the app makes: a prefix naming what the id is for, an underscore, and 32 lower-case hex digits.</summary>
public static class Ids
{
    public static string New(string prefix) => $"{prefix}_{Guid.NewGuid():N}";

    /// <summary>An id that is also a secret (a link that works without signing in): 128 bits from the system's cryptographic generator.</summary>
    public static string NewSecret(string prefix) => $"{prefix}_{System.Security.Cryptography.RandomNumberGenerator.GetHexString(32, lowercase: true)}";

    /// <summary>Whether <paramref name="id"/> has the shape of an id with <paramref name="prefix"/>; anything else cannot exist, so storage need not be asked.</summary>
    public static bool IsWellFormed(string? id, string prefix) =>
        id is not null && id.Length == prefix.Length + 33 && id.StartsWith(prefix, StringComparison.Ordinal) && id[prefix.Length] == '_'
        && id.AsSpan(prefix.Length + 1).IndexOfAnyExcept("0123456789abcdef") < 0;
}
