using System.Text.RegularExpressions;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Errors;

namespace SmartApp.Domain.Identity;

/// <summary>Whose a record is: the user's own, or their organization's.</summary>
public enum SpaceKind
{
    Personal,
    Org,
}

/// <summary>
/// Where records live. The owner — a user id, or an organization id (<c>org_…</c>) — is the partition key value of
/// every store and the first segment of every blob path, so one user's and one organization's data each stay in
/// their own partitions, and a user's existing data is their personal space as it was.
/// </summary>
public sealed record Space(SpaceKind Kind, string OwnerId)
{
    /// <summary>The space's name as the API writes it: <c>personal</c> or <c>org</c>.</summary>
    public string Name => EnumNames.Of(Kind);

    public static Space PersonalOf(CurrentUser user) => new(SpaceKind.Personal, user.UserId);

    /// <summary>The space an owner id names: an organization's, or a user's own.</summary>
    public static Space Of(string ownerId) => new(SpaceAccess.IsOrganizationId(ownerId) ? SpaceKind.Org : SpaceKind.Personal, ownerId);
}

/// <summary>
/// Which spaces a request may read and write. Every member of an organization reads its space; writing to it takes
/// the permission for that kind of record (<see cref="OrganizationPermissions"/>), from the token or its role.
/// Nothing here is kept between requests: a member whose next token has no organization, or another role, gets
/// what that token says.
/// </summary>
public sealed partial class SpaceAccess(OrganizationAccess organizations)
{
    /// <summary>The query parameter (and body field) that names a space.</summary>
    public const string Parameter = "space";

    /// <summary>An organization id as WorkOS issues them; nothing else is ever used as an organization's owner id.</summary>
    public static bool IsOrganizationId(string? id) => id is not null && OrganizationIdShape().IsMatch(id);

    /// <summary>
    /// The spaces the caller reads: their own, then their organization's when the token names one. <paramref name="space"/>
    /// narrows it to one (an organization's when the token has none is 403).
    /// </summary>
    public IReadOnlyList<Space> Readable(CurrentUser user, string? space = null) => ParseOrNull(space) switch
    {
        null => user.OrganizationId is { } org ? [Space.PersonalOf(user), new Space(SpaceKind.Org, org)] : [Space.PersonalOf(user)],
        SpaceKind.Personal => [Space.PersonalOf(user)],
        _ => [OrganizationOf(user)],
    };

    /// <summary>The one space a read by name works in: the user's own unless <paramref name="space"/> names the organization's.</summary>
    public Space One(CurrentUser user, string? space) => Readable(user, space)[0];

    /// <summary>
    /// The first space the caller reads in which <paramref name="find"/> finds the item (ids are unique across spaces), with
    /// that space; null when it is in none.
    /// </summary>
    public async Task<(Space Space, T Item)?> FindAsync<T>(CurrentUser user, Func<Space, Task<T?>> find) where T : class
    {
        foreach (var space in Readable(user))
            if (await find(space).ConfigureAwait(false) is { } item)
                return (space, item);
        return null;
    }

    /// <summary>Results of the same search in several spaces as one list: best first by <paramref name="score"/>, at most <paramref name="count"/>.</summary>
    public static List<T> BestOf<T>(IReadOnlyList<IEnumerable<T>> perSpace, Func<T, double> score, int count) =>
        perSpace.Count == 1 ? [.. perSpace[0]] : [.. perSpace.SelectMany(results => results).OrderByDescending(score).Take(count)];

    /// <summary>The space a new record goes to: personal unless <paramref name="space"/> says <c>org</c>, which takes <paramref name="permission"/>.</summary>
    public Space Writable(CurrentUser user, string? space, string permission)
    {
        var target = ParseOrNull(space) == SpaceKind.Org ? OrganizationOf(user) : Space.PersonalOf(user);
        EnsureMayWrite(user, target, permission);
        return target;
    }

    /// <summary>The caller's space of that kind (an organization's when the token has none is 403).</summary>
    public static Space Of(CurrentUser user, SpaceKind kind) => kind == SpaceKind.Org ? OrganizationOf(user) : Space.PersonalOf(user);

    /// <summary>Refuses (403, naming the permission) a change in the organization's space the caller's token does not grant.</summary>
    public void EnsureMayWrite(CurrentUser user, Space space, string permission)
    {
        if (space.Kind == SpaceKind.Personal) return;
        if (space.OwnerId != user.OrganizationId) throw new ForbiddenException("This belongs to an organization your session is not signed in to.");
        if (!organizations.PermissionsOf(user).Contains(permission, StringComparer.Ordinal))
            throw new ForbiddenException($"Changing the organization's space takes the '{permission}' permission, which your role does not grant; you can still read it.");
    }

    private static Space OrganizationOf(CurrentUser user) => user.OrganizationId is { } org
        ? new Space(SpaceKind.Org, org)
        : throw new ForbiddenException("Your session is not signed in to an organization, so it has no organization space.");

    private static SpaceKind? ParseOrNull(string? space)
    {
        if (string.IsNullOrEmpty(space)) return null;
        return EnumNames.TryParse<SpaceKind>(space, out var kind)
            ? kind
            : throw new ValidationFailedException(Parameter, $"'{Parameter}' is 'personal' or 'org'.");
    }

    [GeneratedRegex("^org_[A-Za-z0-9]{1,60}$")]
    private static partial Regex OrganizationIdShape();
}

/// <summary>
/// Listing several spaces as one: pages run through the spaces in turn (personal first). The cursor names the space it
/// continues in — a personal one is the store's own cursor, as it always was; an organization's is <c>org.</c> and the
/// store's cursor ('.' is never in one).
/// </summary>
public static class SpacePages
{
    private const string OrgPrefix = "org.";

    /// <summary>
    /// Up to <paramref name="limit"/> items read by <paramref name="page"/> (a space, the store's cursor there or null, how
    /// many) from the space the cursor is in onwards, and the cursor of what follows (null at the end).
    /// </summary>
    public static async Task<(List<T> Items, string? Cursor)> ReadAsync<T>(
        IReadOnlyList<Space> spaces, string? cursor, int limit, Func<Space, string?, int, Task<(IReadOnlyList<T> Items, string? Cursor)>> page)
    {
        var (start, inner) = Parse(spaces, cursor);
        var items = new List<T>(limit);
        for (var i = start; i < spaces.Count; i++)
        {
            var (found, next) = await page(spaces[i], inner, limit - items.Count).ConfigureAwait(false);
            items.AddRange(found);
            if (next is not null) return (items, Cursor(spaces[i], next));
            inner = null;
            if (items.Count >= limit) return (items, i + 1 < spaces.Count ? Cursor(spaces[i + 1], null) : null);
        }
        return (items, null);
    }

    private static string Cursor(Space space, string? inner) => space.Kind == SpaceKind.Org ? OrgPrefix + inner : inner ?? "";

    private static (int Start, string? Inner) Parse(IReadOnlyList<Space> spaces, string? cursor)
    {
        if (string.IsNullOrEmpty(cursor)) return (0, null);
        var kind = cursor.StartsWith(OrgPrefix, StringComparison.Ordinal) ? SpaceKind.Org : SpaceKind.Personal;
        var start = spaces.ToList().FindIndex(s => s.Kind == kind);
        if (start < 0) throw new ValidationFailedException("cursor", "The cursor belongs to a space this request does not list; start again without it.");
        var inner = kind == SpaceKind.Org ? cursor[OrgPrefix.Length..] : cursor;
        return (start, inner.Length == 0 ? null : inner);
    }
}
