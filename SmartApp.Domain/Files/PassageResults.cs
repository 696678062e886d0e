namespace SmartApp.Domain.Files;

/// <summary>
/// File search results as a reader wants them: passages that continue each other (neighbours in the same page of the
/// same file, which overlap by design) become one, and no file takes more than <see cref="PerFile"/> places while
/// another file has a result to show; the rest of a file's results follow, so nothing found is dropped for that.
/// </summary>
public static class PassageResults
{
    public const int PerFile = 2;

    /// <summary>The best <paramref name="limit"/> results of <paramref name="ranked"/> (best first), merged and spread across files.</summary>
    public static IReadOnlyList<FileSearchHit> Arrange(IEnumerable<FileSearchHit> ranked, int limit)
    {
        var merged = new List<FileSearchHit>();
        foreach (var hit in ranked)
        {
            var i = merged.FindIndex(m => Continues(m.Chunk, hit.Chunk));
            if (i >= 0) merged[i] = merged[i] with { Chunk = Join(merged[i].Chunk, hit.Chunk) }; // the better hit's place and score
            else merged.Add(hit);
        }
        var perFile = new Dictionary<string, int>(StringComparer.Ordinal);
        var (first, rest) = (new List<FileSearchHit>(), new List<FileSearchHit>());
        foreach (var hit in merged)
        {
            var places = perFile[hit.Chunk.FileId] = perFile.GetValueOrDefault(hit.Chunk.FileId) + 1;
            (places <= PerFile ? first : rest).Add(hit);
        }
        return [.. first.Concat(rest).Take(limit)];
    }

    /// <summary>Whether two passages are one stretch of text: same file and page, their ranges overlapping or apart by at most a space.</summary>
    private static bool Continues(FileChunk a, FileChunk b) =>
        a.FileId == b.FileId && a.Page == b.Page && b.Start <= a.End + 1 && a.Start <= b.End + 1;

    private static FileChunk Join(FileChunk a, FileChunk b)
    {
        var (left, right) = a.Start <= b.Start ? (a, b) : (b, a);
        if (right.End <= left.End) return left with { Id = a.Id };
        var text = right.Start >= left.End ? left.Text + " " + right.Text : left.Text + right.Text[(left.End - right.Start)..];
        return left with { Id = a.Id, Index = Math.Min(a.Index, b.Index), End = right.End, Text = text };
    }
}
