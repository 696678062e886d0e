using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Identity;

namespace SmartApp.Tests.Unit.Identity;

[Trait("Category", "Unit")]
public sealed class SpaceAccessTests
{
    private static readonly SpaceAccess Access = new(new OrganizationAccess(Options.Create(new OrganizationOptions())));

    private static CurrentUser Member(string? organization, string? role, params string[] permissions) =>
        new("user_1", "ada@example.com", "Ada", false) { OrganizationId = organization, Role = role, Roles = role is null ? [] : [role], Permissions = permissions };

    [Fact]
    public void A_member_reads_their_own_space_then_the_organizations_and_a_user_without_one_only_their_own()
    {
        Assert.Equal([new Space(SpaceKind.Personal, "user_1"), new Space(SpaceKind.Org, "org_a")], Access.Readable(Member("org_a", "member")));
        Assert.Equal([new Space(SpaceKind.Org, "org_a")], Access.Readable(Member("org_a", "member"), "org"));
        Assert.Equal([new Space(SpaceKind.Personal, "user_1")], Access.Readable(Member("org_a", "member"), "PERSONAL"));
        Assert.Equal([new Space(SpaceKind.Personal, "user_1")], Access.Readable(Member(null, null)));
        Assert.Throws<ForbiddenException>(() => Access.Readable(Member(null, null), "org"));
        Assert.Equal("space", Assert.Throws<ValidationFailedException>(() => Access.Readable(Member("org_a", "admin"), "team")).Errors.Keys.Single());
    }

    [Fact]
    public void Writing_to_the_organizations_space_takes_the_permission_from_the_token_or_the_role()
    {
        Assert.Equal(new Space(SpaceKind.Org, "org_a"), Access.Writable(Member("org_a", "admin"), "org", OrganizationPermissions.FilesWrite));
        Assert.Equal(new Space(SpaceKind.Org, "org_a"), Access.Writable(Member("org_a", "member", "files:write"), "org", OrganizationPermissions.FilesWrite));
        var refused = Assert.Throws<ForbiddenException>(() => Access.Writable(Member("org_a", "member", "data:write"), "org", OrganizationPermissions.FilesWrite));
        Assert.Contains("'files:write'", refused.Message);
        Assert.Throws<ForbiddenException>(() => Access.Writable(Member(null, null), "org", OrganizationPermissions.FilesWrite));

        // Personal is the default, and needs no permission.
        Assert.Equal(new Space(SpaceKind.Personal, "user_1"), Access.Writable(Member("org_a", "member"), null, OrganizationPermissions.FilesWrite));
        // Another organization's record (found by a token signed in elsewhere) is never writable.
        Assert.Throws<ForbiddenException>(() => Access.EnsureMayWrite(Member("org_a", "admin"), new Space(SpaceKind.Org, "org_b"), OrganizationPermissions.FilesWrite));
    }

    [Theory]
    [InlineData("org_01HXYZ", true)]
    [InlineData("org_", false)]
    [InlineData("org_a/b", false)]
    [InlineData("user_01HXYZ", false)]
    [InlineData("ORG_abc", false)]
    public void Only_a_WorkOS_shaped_id_is_an_organization(string id, bool expected) => Assert.Equal(expected, SpaceAccess.IsOrganizationId(id));

    [Fact]
    public async Task Pages_run_through_each_space_in_turn_and_the_cursor_resumes_in_the_space_it_names()
    {
        var spaces = new[] { new Space(SpaceKind.Personal, "user_1"), new Space(SpaceKind.Org, "org_a") };
        var items = new Dictionary<string, string[]> { ["user_1"] = ["p1", "p2", "p3"], ["org_a"] = ["o1", "o2"] };
        Task<(IReadOnlyList<string>, string?)> Page(Space space, string? cursor, int wanted)
        {
            var all = items[space.OwnerId];
            var from = cursor is null ? 0 : int.Parse(cursor, System.Globalization.CultureInfo.InvariantCulture);
            var page = all.Skip(from).Take(wanted).ToList();
            return Task.FromResult<(IReadOnlyList<string>, string?)>((page, from + page.Count < all.Length ? (from + page.Count).ToString(System.Globalization.CultureInfo.InvariantCulture) : null));
        }

        var read = new List<string>();
        string? next = null;
        var pages = 0;
        do
        {
            (var found, next) = await SpacePages.ReadAsync<string>(spaces, next, 2, Page);
            read.AddRange(found);
            pages++;
        }
        while (next is not null);

        Assert.Equal(["p1", "p2", "p3", "o1", "o2"], read);
        Assert.Equal(3, pages); // p1 p2 | p3 o1 | o2
        // A cursor into the organization's space means nothing to a request that does not list it.
        var (_, intoOrg) = await SpacePages.ReadAsync<string>(spaces, null, 4, Page);
        Assert.StartsWith("org.", intoOrg);
        await Assert.ThrowsAsync<ValidationFailedException>(() => SpacePages.ReadAsync<string>(spaces[..1], intoOrg, 2, Page));
    }
}
