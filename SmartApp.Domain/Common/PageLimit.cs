using SmartApp.Domain.Common.Errors;

namespace SmartApp.Domain.Common;

/// <summary>The <c>limit</c> a list or search takes: the default when none is given, else 1 to the route's maximum (a 400 naming it otherwise).</summary>
public static class PageLimit
{
    public static int Of(int? limit, int defaultLimit, int max) =>
        (limit ?? defaultLimit) is var count and >= 1 && count <= max ? count : throw new ValidationFailedException("limit", $"'limit' must be between 1 and {max}.");
}
