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

/// <summary>A found candidate: its relevance (0-1, <see cref="HybridRanker.Relevance"/>), the two ranks it came from (null where it did not rank), and its position among the candidates.</summary>
public sealed record RankedResult(string Id, double Score, int? KeywordRank, int? VectorRank, int Position);

/// <summary>
/// Candidates laid out for ranking: embeddings in one contiguous matrix and words in an inverted
/// index (term -> the candidates holding it, with counts), so a query touches contiguous arrays
/// instead of one dictionary per candidate. Built once per set of candidates.
/// </summary>
public sealed class SearchCorpus
{
    private readonly string[] _ids;
    private readonly float[] _embeddings;
    private readonly int[] _lengths;
    private readonly Dictionary<string, (int[] Documents, int[] Counts)> _postings;

    private SearchCorpus(string[] ids, float[] embeddings, int dimensions, int[] lengths, Dictionary<string, (int[], int[])> postings) =>
        (_ids, _embeddings, Dimensions, _lengths, _postings) = (ids, embeddings, dimensions, lengths, postings);

    public static SearchCorpus Empty { get; } = Build([]);

    public int Count => _ids.Length;
    public int Dimensions { get; }

    public string Id(int index) => _ids[index];

    public static SearchCorpus Build(IReadOnlyList<SearchCandidate> candidates)
    {
        var dimensions = candidates.Count == 0 ? 0 : candidates[0].Embedding.Length;
        var embeddings = new float[candidates.Count * dimensions];
        var lengths = new int[candidates.Count];
        var postings = new Dictionary<string, (List<int> Documents, List<int> Counts)>(StringComparer.Ordinal);
        for (var i = 0; i < candidates.Count; i++)
        {
            var candidate = candidates[i];
            if (candidate.Embedding.Length == dimensions) candidate.Embedding.CopyTo(embeddings, i * dimensions);
            lengths[i] = candidate.Text.Length;
            foreach (var (term, count) in candidate.Text.Frequencies)
            {
                if (!postings.TryGetValue(term, out var list)) postings[term] = list = ([], []);
                list.Documents.Add(i);
                list.Counts.Add(count);
            }
        }
        return new SearchCorpus([.. candidates.Select(c => c.Id)], embeddings, dimensions, lengths,
            postings.ToDictionary(p => p.Key, p => (p.Value.Documents.ToArray(), p.Value.Counts.ToArray()), StringComparer.Ordinal));
    }

    /// <summary>Okapi BM25 of each query term against the included candidates, which are the corpus for document frequencies.</summary>
    internal double[] Bm25(IReadOnlyList<string> terms, bool[] included, int includedCount)
    {
        var scores = new double[Count];
        if (includedCount == 0) return scores;
        long totalLength = 0;
        for (var i = 0; i < Count; i++) if (included[i]) totalLength += _lengths[i];
        var averageLength = Math.Max(1.0, (double)totalLength / includedCount);
        foreach (var term in terms)
        {
            if (!_postings.TryGetValue(term, out var posting)) continue;
            var frequency = 0;
            foreach (var document in posting.Documents) if (included[document]) frequency++;
            if (frequency == 0) continue;
            var idf = HybridRanker.Idf(includedCount, frequency);
            for (var p = 0; p < posting.Documents.Length; p++)
            {
                var document = posting.Documents[p];
                if (included[document]) scores[document] += HybridRanker.Bm25Term(idf, posting.Counts[p], _lengths[document], averageLength);
            }
        }
        return scores;
    }

    /// <summary>The share of the query's words each included candidate holds (0 when the query has none).</summary>
    internal double[] Coverage(IReadOnlyList<string> terms, bool[] included)
    {
        var held = new int[Count];
        foreach (var term in terms)
        {
            if (!_postings.TryGetValue(term, out var posting)) continue;
            foreach (var document in posting.Documents)
                if (included[document]) held[document]++;
        }
        return [.. held.Select(count => terms.Count == 0 ? 0 : (double)count / terms.Count)];
    }

    /// <summary>Cosine similarity of the query to each included candidate (unit vectors: their dot product).</summary>
    internal double[] Cosines(float[] query, bool[] included)
    {
        var scores = new double[Count];
        if (query.Length != Dimensions) return scores;
        var matrix = _embeddings.AsSpan();
        for (var i = 0; i < Count; i++)
            if (included[i]) scores[i] = Vectors.Cosine(query, matrix.Slice(i * Dimensions, Dimensions));
        return scores;
    }
}

/// <summary>
/// Hybrid search over one user's candidates: BM25 keyword scores and cosine similarity ranked
/// separately, then fused by reciprocal rank (score = Σ 1 / (k + rank)), so a result strong in
/// either sense rises and one strong in both rises most.
/// </summary>
public static partial class HybridRanker
{
    public const int RrfK = 60;

    /// <summary>Vector matches below this similarity are not counted as matches.</summary>
    public const float DefaultMinimumCosine = 0.2f;

    /// <summary>
    /// What makes a result relevant at all: a meaning close to the query's (cosine at least this), or at least
    /// <see cref="RelevantCoverage"/> of the query's keywords. Below both, a candidate is not returned however it
    /// ranks, so a question nothing answers finds nothing (and chat cites nothing) instead of the least bad passage.
    /// Set on the retrieval set in benchmarks/SmartApp.Evaluation: answerable questions' best cosine is at least
    /// 0.24 (median 0.45), off-topic ones' at most 0.33 (median 0.14); off-topic matches share one word of three or more.
    /// </summary>
    public const float RelevantCosine = 0.25f;

    /// <summary>The share of a query's keywords a result must hold to be relevant by its words alone.</summary>
    public const double RelevantCoverage = 0.5;

    public static IReadOnlyList<RankedResult> Rank(string query, float[] queryEmbedding, IReadOnlyList<SearchCandidate> candidates, int limit, float minimumCosine = DefaultMinimumCosine) =>
        Rank(query, queryEmbedding, SearchCorpus.Build(candidates), limit, null, minimumCosine);

    /// <param name="include">Which candidates (by position) may be found; null: all.</param>
    /// <param name="minimumCosine">Vector matches below this similarity are not counted as matches.</param>
    public static IReadOnlyList<RankedResult> Rank(string query, float[] queryEmbedding, SearchCorpus corpus, int limit, Func<int, bool>? include, float minimumCosine = DefaultMinimumCosine)
    {
        var included = new bool[corpus.Count];
        var includedCount = 0;
        for (var i = 0; i < corpus.Count; i++)
            if (included[i] = include?.Invoke(i) ?? true) includedCount++;

        var terms = Tokenize(query).Distinct().ToList();
        return Fuse(corpus.Id, corpus.Bm25(terms, included, includedCount), corpus.Cosines(queryEmbedding, included), corpus.Coverage(terms, included), included, limit, minimumCosine);
    }

    /// <summary>
    /// The fusion itself, over scores computed elsewhere (an in-memory corpus, or a partition read page by page):
    /// each retriever contributes its best few (as a search engine's retrievers do; ranks below that add almost
    /// nothing), and a candidate's score is the sum of 1 / (k + rank) over the retrievers that ranked it. Only
    /// relevant candidates are returned (<see cref="RelevantCosine"/>, <see cref="RelevantCoverage"/>).
    /// </summary>
    /// <param name="coverage">The share of the query's keywords each candidate holds.</param>
    internal static IReadOnlyList<RankedResult> Fuse(Func<int, string> id, double[] keywordScores, double[] cosineScores, double[] coverage, bool[] included, int limit,
        float minimumCosine)
    {
        var depth = Math.Max(limit * 5, 50);
        var keyword = TopRanks(id, keywordScores, included, 0, strict: true, depth);
        var vector = TopRanks(id, cosineScores, included, minimumCosine, strict: false, depth);
        var fused = keyword.Keys.Union(vector.Keys)
            .Where(position => Relevance(cosineScores[position], coverage[position]) >= RelevantScore)
            .Select(position => (Position: position, Keyword: keyword.TryGetValue(position, out var k) ? k : (int?)null, Vector: vector.TryGetValue(position, out var v) ? v : (int?)null))
            .Select(r => (r.Position, r.Keyword, r.Vector, Fused: Fuse(r.Keyword) + Fuse(r.Vector)))
            .OrderByDescending(r => r.Fused).ThenBy(r => id(r.Position), StringComparer.Ordinal)
            .Take(limit);
        // Ranked by fusion; scored by relevance, never above the result ranked before, so scores follow the order.
        var results = new List<RankedResult>();
        var ceiling = 1.0;
        foreach (var r in fused)
        {
            ceiling = Math.Min(ceiling, Relevance(cosineScores[r.Position], coverage[r.Position]));
            results.Add(new RankedResult(id(r.Position), Math.Round(ceiling, 4), r.Keyword, r.Vector, r.Position));
        }
        return results;
    }

    /// <summary>The score from which a result is returned at all: <see cref="Relevance"/> at the gate.</summary>
    public const double RelevantScore = 0.5;

    /// <summary>
    /// How relevant a result is, from 0 to 1, on the similarity itself rather than its rank: the better of its meaning
    /// (0.5 at <see cref="RelevantCosine"/>, rising linearly to 1 at cosine 0.75, which only a near restatement
    /// reaches; below the gate, proportionally less) and its words (the share of the query's keywords it holds, so 0.5
    /// at <see cref="RelevantCoverage"/>). At least <see cref="RelevantScore"/> is returned, below is not: the same gate.
    /// </summary>
    public static double Relevance(double cosine, double coverage)
    {
        var byMeaning = cosine >= RelevantCosine
            ? 0.5 + 0.5 * Math.Min(1, (cosine - RelevantCosine) / (0.75 - RelevantCosine))
            : 0.5 * Math.Max(0, cosine) / RelevantCosine;
        return Math.Max(byMeaning, coverage);
    }

    /// <summary>BM25's inverse document frequency of a term found in <paramref name="frequency"/> of <paramref name="documents"/> candidates.</summary>
    internal static double Idf(int documents, int frequency) => Math.Log(1 + (documents - frequency + 0.5) / (frequency + 0.5));

    /// <summary>One term's Okapi BM25 contribution (k1 1.2, b 0.75) for a candidate holding it <paramref name="count"/> times in <paramref name="length"/> words.</summary>
    internal static double Bm25Term(double idf, int count, int length, double averageLength)
    {
        const double K1 = 1.2, B = 0.75;
        return idf * count * (K1 + 1) / (count + K1 * (1 - B + B * length / averageLength));
    }

    /// <summary>Okapi BM25 of the query against each candidate, with the candidates as the corpus.</summary>
    public static IEnumerable<(string Id, double Score)> Bm25(string query, IReadOnlyList<SearchCandidate> candidates)
    {
        var corpus = SearchCorpus.Build(candidates);
        var included = Enumerable.Repeat(true, corpus.Count).ToArray();
        var scores = corpus.Bm25(Tokenize(query).Distinct().ToList(), included, corpus.Count);
        return scores.Select((score, i) => (corpus.Id(i), score));
    }

    /// <summary>The ranks (1 = best), by position, of the <paramref name="depth"/> highest scores above (or at) the threshold, kept in a bounded heap rather than sorting them all.</summary>
    private static Dictionary<int, int> TopRanks(Func<int, string> id, double[] scores, bool[] included, double threshold, bool strict, int depth)
    {
        var best = new PriorityQueue<int, (double, string)>(depth + 1, TieBreak.Instance);
        for (var i = 0; i < scores.Length; i++)
        {
            if (!included[i] || (strict ? scores[i] <= threshold : scores[i] < threshold)) continue;
            best.Enqueue(i, (scores[i], id(i)));
            if (best.Count > depth) best.Dequeue(); // drops the lowest
        }
        var ranked = new List<int>(best.Count);
        while (best.Count > 0) ranked.Add(best.Dequeue());
        ranked.Reverse();
        return ranked.Select((position, rank) => (Position: position, Rank: rank + 1)).ToDictionary(x => x.Position, x => x.Rank);
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

    /// <summary>
    /// The words keyword search counts: lower-cased words and numbers (any script), without single letters and English
    /// stop words, which match nearly every passage (a query's "d" or "how" found manual pages for "vitamin D deficiency").
    /// </summary>
    public static IEnumerable<string> Tokenize(string text) =>
        Word().Matches(text.ToLowerInvariant()).Select(m => m.Value).Where(word => !(word.Length == 1 && char.IsLetter(word[0])) && !StopWords.Contains(word));

    /// <summary>English function words and question words (after Lucene's and NLTK's lists, shortened to what questions use).</summary>
    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been", "before", "being", "but", "by", "can", "could",
        "did", "do", "does", "doing", "for", "from", "get", "got", "had", "has", "have", "having", "he", "her", "here", "him", "his", "how", "if",
        "in", "into", "is", "it", "its", "just", "me", "more", "most", "my", "no", "nor", "not", "of", "on", "or", "our", "out", "over", "she",
        "should", "so", "some", "such", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "through", "to",
        "too", "up", "us", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would",
        "you", "your",
    };

    [GeneratedRegex(@"[\p{L}\p{N}]+")]
    private static partial Regex Word();
}
