namespace SmartApp.Domain.Files.Ingestion;

/// <summary>
/// How deeply markup nests, measured by a single scan before any parser builds a tree (parsers and
/// their renderers recurse, and a deep enough document would overflow the stack). The scans stop as
/// soon as the depth passes <c>stopAbove</c>: they answer a depth, not a tree.
/// </summary>
public static class MarkupDepth
{
    /// <summary>Elements that never hold others, or whose end tag the HTML parser supplies when a sibling starts.</summary>
    private static readonly HashSet<string> NotNesting = new(StringComparer.OrdinalIgnoreCase)
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr", "param", "keygen",
        "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "thead", "tbody", "tfoot", "rb", "rt", "rp", "colgroup", "caption", "html", "head", "body",
    };

    /// <summary>The deepest run of open elements (start tags without their end tags).</summary>
    public static int Html(string html, int stopAbove)
    {
        int depth = 0, deepest = 0, i = 0;
        while ((i = html.IndexOf('<', i)) >= 0 && i + 1 < html.Length)
        {
            if (html.AsSpan(i).StartsWith("<!--"))
            {
                var end = html.IndexOf("-->", i + 4, StringComparison.Ordinal);
                if (end < 0) break;
                i = end + 3;
                continue;
            }
            var closing = html[i + 1] == '/';
            var start = i + (closing ? 2 : 1);
            var nameEnd = start;
            while (nameEnd < html.Length && (char.IsAsciiLetterOrDigit(html[nameEnd]) || html[nameEnd] is '-' or ':')) nameEnd++;
            if (nameEnd == start || !char.IsAsciiLetter(html[start]))
            {
                i++;
                continue;
            }
            var name = html[start..nameEnd];
            var tagEnd = html.IndexOf('>', nameEnd);
            if (tagEnd < 0) break;
            var selfClosing = html[tagEnd - 1] == '/';
            i = tagEnd + 1;
            if (!closing && (name.Equals("script", StringComparison.OrdinalIgnoreCase) || name.Equals("style", StringComparison.OrdinalIgnoreCase)))
            {
                var end = html.IndexOf("</" + name, i, StringComparison.OrdinalIgnoreCase);
                i = end < 0 ? html.Length : end;
                continue;
            }
            if (NotNesting.Contains(name) || selfClosing) continue;
            if (closing) depth = Math.Max(0, depth - 1);
            else if (++depth > deepest && (deepest = depth) > stopAbove) return deepest;
        }
        return deepest;
    }

    /// <summary>
    /// The deepest line of containers (block quotes, list items, indentation) and the deepest run of
    /// open brackets: what Markdown parsers nest blocks and links by.
    /// </summary>
    public static int Markdown(string markdown, int stopAbove)
    {
        var deepest = 0;
        var brackets = 0;
        var lineStart = true;
        var containers = 0;
        var spaces = 0;
        foreach (var c in markdown)
        {
            if (c == '\n')
            {
                lineStart = true;
                containers = spaces = 0;
                continue;
            }
            if (lineStart)
            {
                if (c is ' ' or '\t') spaces += c == '\t' ? 4 : 1;
                else if (c is '>' or '-' or '*' or '+') containers++;
                else lineStart = false;
                var depth = containers + spaces / 2;
                if (depth > deepest && (deepest = depth) > stopAbove) return deepest;
            }
            if (c is '[' or '(') { if (++brackets > deepest && (deepest = brackets) > stopAbove) return deepest; }
            else if (c is ']' or ')') brackets = Math.Max(0, brackets - 1);
        }
        return deepest;
    }
}
