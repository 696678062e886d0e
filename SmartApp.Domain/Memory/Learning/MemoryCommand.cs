using System.Text.RegularExpressions;

namespace SmartApp.Domain.Memory.Learning;

public enum MemoryCommandKind
{
    Remember,
    Forget,
}

/// <summary>
/// "Remember that …" and "forget …" in a chat message, recognised by rule (no model needed, so they work when it is down).
/// Only a short statement is a command: a question ("remember when we…?"), a long message or "forget it" is not.
/// </summary>
public sealed partial record MemoryCommand(MemoryCommandKind Kind, string Subject)
{
    private const int MaxCommandLength = 500;

    private static readonly HashSet<string> Vague = new(StringComparer.OrdinalIgnoreCase) { "it", "that", "this", "everything", "all", "all of it", "about it", "all that", "me" };

    [GeneratedRegex(@"^\s*(?:please\s+)?remember\s*(?:that\s+|:\s*)(?<what>.+?)[\s.!]*$", RegexOptions.IgnoreCase | RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex RememberPattern();

    [GeneratedRegex(@"^\s*(?:please\s+)?forget\s+(?:that\s+|about\s+|what\s+i\s+(?:said|told\s+you)\s+about\s+)?(?<what>.+?)[\s.!]*$", RegexOptions.IgnoreCase | RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex ForgetPattern();

    public static MemoryCommand? Parse(string message)
    {
        if (message.Length > MaxCommandLength || message.Contains('?') || message.Contains('\n')) return null;
        if (RememberPattern().Match(message) is { Success: true } remember && SubjectOf(remember) is { } fact) return new(MemoryCommandKind.Remember, fact);
        if (ForgetPattern().Match(message) is { Success: true } forget && SubjectOf(forget) is { } about) return new(MemoryCommandKind.Forget, about);
        return null;
    }

    private static string? SubjectOf(Match match)
    {
        var what = match.Groups["what"].Value.Trim();
        return what.Length == 0 || Vague.Contains(what) ? null : char.ToUpperInvariant(what[0]) + what[1..];
    }
}
