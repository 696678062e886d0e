using System.Text.RegularExpressions;

namespace SmartApp.Domain.Common.Search;

/// <summary>Something that can be found: its id, its words, and the embedding of its text.</summary>
public sealed record SearchCandidate(string Id, SearchText Text, float[] Embedding)
{
    public SearchCandidate(string id, string text, float[] embedding) : this(id, SearchText.From(text), embedding) { }
}

/// <summary>A text as BM25 sees it: how often each word occurs, and how many words there are. Computed once per text.</summary>
public sealed class SearchText
{
    private SearchText(Dictionary<string, int> frequencies, int length) => (Frequencies, Length) = (frequencies, length);

    public IReadOnlyDictionary<string, int> Frequencies { get; }

    public int Length { get; }

    public static SearchText From(string text)
    {
        var frequencies = new Dictionary<string, int>(StringComparer.Ordinal);
        var length = 0;
        foreach (var word in HybridRanker.Tokenize(text))
        {
            frequencies[word] = frequencies.GetValueOrDefault(word) + 1;
            length++;
        }
        return new SearchText(frequencies, length);
    }
}

/// <summary>A found candidate: its fused score and the two ranks it came from (null where it did not rank).</summary>
public sealed record RankedResult(string Id, double Score, int? KeywordRank, int? VectorRank);

/// <summary>
/// Hybrid search over one user's candidates: BM25 keyword scores and cosine similarity ranked
/// separately, then fused by reciprocal rank (score = Σ 1 / (k + rank)), so a result strong in
/// either sense rises and one strong in both rises most.
/// </summary>
public static partial class HybridRanker
{
    public const int RrfK = 60;
    private const double K1 = 1.2, B = 0.75;

    /// <param name="minimumCosine">Vector matches below this similarity are not counted as matches.</param>
    public static IReadOnlyList<RankedResult> Rank(string query, float[] queryEmbedding, IReadOnlyList<SearchCandidate> candidates, int limit, float minimumCosine = 0.2f)
    {
        // Each retriever contributes its best few (as a search engine's retrievers do); ranks below that add almost nothing to the fusion.
        var depth = Math.Max(limit * 5, 50);
        var keyword = TopRanks(Bm25(query, candidates).Where(s => s.Score > 0), depth);
        var vector = TopRanks(candidates.Select(c => (c.Id, Score: (double)Vectors.Cosine(queryEmbedding, c.Embedding))).Where(s => s.Score >= minimumCosine), depth);

        return keyword.Keys.Union(vector.Keys)
            .Select(id => (Id: id, Keyword: keyword.TryGetValue(id, out var k) ? k : (int?)null, Vector: vector.TryGetValue(id, out var v) ? v : (int?)null))
            .Select(r => new RankedResult(r.Id, Fuse(r.Keyword) + Fuse(r.Vector), r.Keyword, r.Vector))
            .OrderByDescending(r => r.Score).ThenBy(r => r.Id, StringComparer.Ordinal)
            .Take(limit)
            .ToList();
    }

    /// <summary>The ranks (1 = best) of the <paramref name="depth"/> highest scores, kept in a bounded heap rather than sorting them all.</summary>
    private static Dictionary<string, int> TopRanks(IEnumerable<(string Id, double Score)> scores, int depth)
    {
        var best = new PriorityQueue<(string Id, double Score), (double, string)>(depth + 1, TieBreak.Instance);
        foreach (var score in scores)
        {
            best.Enqueue(score, (score.Score, score.Id));
            if (best.Count > depth) best.Dequeue(); // drops the lowest
        }
        var ranked = new List<(string Id, double Score)>(best.Count);
        while (best.Count > 0) ranked.Add(best.Dequeue());
        ranked.Reverse();
        return ranked.Select((s, i) => (s.Id, Rank: i + 1)).ToDictionary(x => x.Id, x => x.Rank, StringComparer.Ordinal);
    }

    /// <summary>Lowest score first, and among equal scores the later id first, so that ties rank by id.</summary>
    private sealed class TieBreak : IComparer<(double Score, string Id)>
    {
        public static readonly TieBreak Instance = new();

        public int Compare((double Score, string Id) x, (double Score, string Id) y)
        {
            var byScore = x.Score.CompareTo(y.Score);
            return byScore != 0 ? byScore : string.CompareOrdinal(y.Id, x.Id);
        }
    }

    private static double Fuse(int? rank) => rank is { } r ? 1.0 / (RrfK + r) : 0;

    /// <summary>Okapi BM25 of the query against each candidate, with the candidates as the corpus.</summary>
    public static IEnumerable<(string Id, double Score)> Bm25(string query, IReadOnlyList<SearchCandidate> candidates)
    {
        var terms = Tokenize(query).Distinct().ToList();
        if (terms.Count == 0 || candidates.Count == 0) return candidates.Select(c => (c.Id, 0.0));
        var averageLength = candidates.Average(c => c.Text.Length);
        var documentFrequency = terms.ToDictionary(t => t, t => candidates.Count(c => c.Text.Frequencies.ContainsKey(t)));
        return candidates.Select(c =>
        {
            var score = 0.0;
            foreach (var term in terms)
            {
                if (!c.Text.Frequencies.TryGetValue(term, out var frequency)) continue;
                var idf = Math.Log(1 + (candidates.Count - documentFrequency[term] + 0.5) / (documentFrequency[term] + 0.5));
                score += idf * frequency * (K1 + 1) / (frequency + K1 * (1 - B + B * c.Text.Length / Math.Max(averageLength, 1)));
            }
            return (c.Id, score);
        });
    }

    /// <summary>Lower-cased words and numbers (any script).</summary>
    public static IEnumerable<string> Tokenize(string text) => Word().Matches(text.ToLowerInvariant()).Select(m => m.Value);

    [GeneratedRegex(@"[\p{L}\p{N}]+")]
    private static partial Regex Word();
}
