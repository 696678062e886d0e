using System.Globalization;
using SmartApp.Domain.Common.Errors;

namespace SmartApp.Domain.Common;

/// <summary>A half-open range [From, To) of instants, either end optional, read from ISO 8601 text.</summary>
public readonly record struct TimeRange(DateTimeOffset? From, DateTimeOffset? To)
{
    /// <summary>Parses both ends; a malformed end or one after the other is a 400 naming the field.</summary>
    public static TimeRange Parse(string? from, string? to, string fromField = "from", string toField = "to")
    {
        var range = new TimeRange(ParseInstant(from, fromField), ParseInstant(to, toField));
        if (range.From > range.To)
            throw new ValidationFailedException(fromField, $"'{fromField}' must not be after '{toField}'.");
        return range;
    }

    private static DateTimeOffset? ParseInstant(string? text, string field)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value)
            ? value
            : throw new ValidationFailedException(field, $"'{field}' must be an ISO 8601 date-time, such as 2026-01-31T12:00:00Z.");
    }
}
