using Microsoft.IdentityModel.JsonWebTokens;

namespace SmartApp.Domain.Identity;

/// <summary>Reading a verified token's claims the same way whoever issued it (WorkOS, or the demo key).</summary>
internal static class TokenClaims
{
    /// <summary>The caller with the organization the token is signed in to, and the role(s) and permissions it holds there.</summary>
    public static CurrentUser WithMembership(this CurrentUser user, JsonWebToken jwt) => user with
    {
        // Only a well-formed organization id: it becomes a partition key and a blob path.
        OrganizationId = Text(jwt, "org_id") is { } org && SpaceAccess.IsOrganizationId(org) ? org : null,
        Role = Text(jwt, "role"),
        Roles = Texts(jwt, "roles"),
        Permissions = Texts(jwt, "permissions"),
    };

    /// <summary>A text claim (<c>org_id</c>, <c>role</c>); null when absent or blank.</summary>
    public static string? Text(JsonWebToken jwt, string claim) =>
        jwt.TryGetPayloadValue<string>(claim, out var value) && !string.IsNullOrWhiteSpace(value) ? value : null;

    /// <summary>A list claim (<c>roles</c>, <c>permissions</c>): its strings, at most 200 of them.</summary>
    public static IReadOnlyList<string> Texts(JsonWebToken jwt, string claim) =>
        [.. jwt.Claims.Where(c => c.Type == claim && c.ValueType == System.Security.Claims.ClaimValueTypes.String && c.Value.Length > 0).Select(c => c.Value).Take(200)];
}
