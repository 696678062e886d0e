using Microsoft.Extensions.Options;
using SmartApp.Domain.Identity;

namespace SmartApp.Tests.Unit.Identity;

[Trait("Category", "Unit")]
public sealed class OrganizationAccessTests
{
    private static CurrentUser Member(string? organization, string? role, params string[] permissions) =>
        new("user_1", "ada@example.com", "Ada", false) { OrganizationId = organization, Role = role, Roles = role is null ? [] : [role], Permissions = permissions };

    [Fact]
    public void A_configured_role_replaces_its_default_and_adds_to_the_tokens_permissions_only_inside_an_organization()
    {
        var options = new OrganizationOptions { RolePermissions = { ["member"] = ["memory:write"], ["editor"] = ["files:write", "data:write"] } };
        var access = new OrganizationAccess(Options.Create(options));

        Assert.Equal(["memory:write"], access.PermissionsOf(Member("org_a", "member")));
        Assert.Equal(["data:write", "files:write", "memory:write"], access.PermissionsOf(Member("org_a", "editor", "memory:write", "files:write")));
        Assert.Equal([.. OrganizationPermissions.All.Order(StringComparer.Ordinal)], access.PermissionsOf(Member("org_a", "admin"))); // not configured: its default
        Assert.Empty(access.PermissionsOf(Member("org_a", "guest")));
        Assert.Empty(access.PermissionsOf(Member(null, "admin", "files:write"))); // no organization, nothing to hold them in
    }

    [Fact]
    public void A_role_or_permission_that_is_not_well_formed_fails_validation()
    {
        var options = new OrganizationOptions { RolePermissions = { ["Admins!"] = ["files:write"], ["member"] = ["write"] } };
        var results = options.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(options)).Select(r => r.ErrorMessage).ToList();
        Assert.Equal(2, results.Count);
        Assert.Contains(results, r => r!.Contains("'Admins!'"));
        Assert.Contains(results, r => r!.Contains("'write'"));
    }
}
