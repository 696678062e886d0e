using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace SmartApp.Domain.Identity;

/// <summary>What a member may do in their organization's space besides reading (the names WorkOS permissions take).</summary>
public static class OrganizationPermissions
{
    public const string FilesWrite = "files:write", DataWrite = "data:write", MemoryWrite = "memory:write", BillingManage = "billing:manage";

    /// <summary>Exporting everything in the organization's space (<c>GET /api/me/export?space=org</c>).</summary>
    public const string Export = "organization:export";

    public static IReadOnlyList<string> All { get; } = [FilesWrite, DataWrite, MemoryWrite, BillingManage, Export];
}

/// <summary>
/// Organization settings: section <c>Organizations</c>. <see cref="RolePermissions"/> maps a role (its WorkOS slug) to the
/// permissions it grants on top of those the token carries; a role it does not name keeps the defaults: WorkOS's
/// <c>admin</c> may do everything, <c>member</c> reads only.
/// </summary>
public sealed partial class OrganizationOptions : IValidatableObject
{
    public const string Section = "Organizations";

    public static IReadOnlyDictionary<string, string[]> DefaultRolePermissions { get; } = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["admin"] = [.. OrganizationPermissions.All],
        ["member"] = [],
    };

    public Dictionary<string, string[]> RolePermissions { get; set; } = new(StringComparer.Ordinal);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (role, permissions) in RolePermissions)
        {
            if (!RoleSlug().IsMatch(role)) yield return new ValidationResult($"'{role}' is not a role slug (lower-case letters, digits, '-' and '_').", [nameof(RolePermissions)]);
            foreach (var permission in permissions.Where(p => !PermissionName().IsMatch(p)))
                yield return new ValidationResult($"'{permission}' (role '{role}') is not a permission ('resource:action').", [nameof(RolePermissions)]);
        }
    }

    /// <summary>The permissions a role grants: its configured ones, or its default.</summary>
    public IReadOnlyList<string> Grants(string role) =>
        RolePermissions.TryGetValue(role, out var configured) ? configured : DefaultRolePermissions.TryGetValue(role, out var defaults) ? defaults : [];

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,49}$")]
    internal static partial Regex RoleSlug();

    [GeneratedRegex("^[a-z][a-z0-9_-]{0,49}:[a-z][a-z0-9_-]{0,49}$")]
    internal static partial Regex PermissionName();
}

/// <summary>What the caller may do in the organization their session is signed in to.</summary>
public sealed class OrganizationAccess(IOptions<OrganizationOptions> options)
{
    /// <summary>The token's permissions and those its roles grant, sorted; none outside an organization.</summary>
    public IReadOnlyList<string> PermissionsOf(CurrentUser user)
    {
        if (user.OrganizationId is null) return [];
        var roles = user.Roles.Append(user.Role).OfType<string>().Distinct(StringComparer.Ordinal);
        return [.. user.Permissions.Concat(roles.SelectMany(options.Value.Grants)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }
}

/// <summary>The organization a demo sign-in joins, with the member's role and any permissions beyond the role's.</summary>
public sealed record DemoMembership(string OrganizationId, string Role, IReadOnlyList<string> Permissions);
