using System.Text.RegularExpressions;

namespace SmartApp.Domain.Files.Ingestion;

/// <summary>A passage cut from a page: its character range in that page's text.</summary>
public sealed record TextChunk(int? Page, int Start, int End, string Text);

/// <summary>
/// Cuts pages into passages of about <c>size</c> characters that end on sentence boundaries where
/// possible and overlap their neighbour by about a tenth, so a fact on a boundary is whole in one of them.
/// </summary>
public static partial class Chunker
{
    public static List<TextChunk> Split(IReadOnlyList<ExtractedPage> pages, int size)
    {
        var chunks = new List<TextChunk>();
        var overlap = size / 10;
        foreach (var page in pages)
        {
            var text = page.Text;
            var boundaries = SentenceEnds(text);
            var start = SkipSpace(text, 0);
            while (start < text.Length)
            {
                var limit = Math.Min(text.Length, start + size);
                // The last sentence end inside the window; failing that, the last space; failing that, the window's end.
                var end = limit == text.Length ? limit : LastAtMost(boundaries, limit, start + size / 2) ?? LastSpace(text, start + size / 2, limit) ?? limit;
                var piece = text[start..end].Trim();
                if (piece.Length > 0)
                {
                    var leading = text.AsSpan(start, end - start).Length - text.AsSpan(start, end - start).TrimStart().Length;
                    chunks.Add(new TextChunk(page.Page, start + leading, start + leading + piece.Length, piece));
                }
                if (end >= text.Length) break;
                // Start the next passage a little before this one ended, at a sentence or word start.
                var back = end - overlap;
                var next = FirstAtLeast(boundaries, back, end) ?? NextWordStart(text, back, end) ?? end;
                start = SkipSpace(text, next > start ? next : end);
            }
        }
        return chunks;
    }

    private static List<int> SentenceEnds(string text) => SentenceEnd().Matches(text).Select(m => m.Index + m.Length).ToList();

    private static int? LastAtMost(List<int> sorted, int max, int min)
    {
        for (var i = sorted.Count - 1; i >= 0; i--)
        {
            if (sorted[i] > max) continue;
            return sorted[i] >= min ? sorted[i] : null;
        }
        return null;
    }

    private static int? FirstAtLeast(List<int> sorted, int min, int max)
    {
        foreach (var value in sorted)
            if (value >= min) return value < max ? value : null;
        return null;
    }

    private static int? LastSpace(string text, int from, int to)
    {
        var index = text.LastIndexOfAny([' ', '\n', '\t'], to - 1, to - from);
        return index > from ? index : null;
    }

    private static int? NextWordStart(string text, int from, int to)
    {
        var index = text.IndexOfAny([' ', '\n', '\t'], Math.Max(0, from), Math.Max(0, to - Math.Max(0, from)));
        return index >= 0 ? index + 1 : null;
    }

    private static int SkipSpace(string text, int index)
    {
        while (index < text.Length && char.IsWhiteSpace(text[index])) index++;
        return index;
    }

    /// <summary>The end of a sentence: terminal punctuation followed by space, or a line break.</summary>
    [GeneratedRegex(@"[.!?…。](?=\s)|\n")]
    private static partial Regex SentenceEnd();
}
