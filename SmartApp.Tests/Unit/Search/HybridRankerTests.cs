using SmartApp.Domain.Common.Search;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class HybridRankerTests
{
    private static float[] V(params float[] values) => Vectors.Normalize(values);

    private static readonly SearchCandidate[] Notes =
    [
        new("invoice", "The invoice for March is overdue; pay the invoice by Friday.", V(1, 0, 0)),
        new("holiday", "Booked the holiday flights to Lisbon.", V(0, 1, 0)),
        new("budget", "Quarterly budget review with finance.", V(0.9f, 0.1f, 0)),
        new("recipe", "Grandmother's lemon cake recipe.", V(0, 0, 1)),
    ];

    [Fact]
    public void Bm25_scores_documents_with_more_of_the_rarer_terms_higher()
    {
        var scores = HybridRanker.Bm25("overdue invoice", Notes).ToDictionary(s => s.Id, s => s.Score);
        Assert.True(scores["invoice"] > 0);
        Assert.Equal(0, scores["holiday"]);
        Assert.Equal(0, scores["recipe"]);
    }

    [Fact]
    public void A_result_strong_in_both_senses_comes_first_and_one_strong_in_either_still_ranks()
    {
        // "invoice" matches the keyword and the vector; "budget" only the vector (close in meaning).
        var results = HybridRanker.Rank("invoice", V(1, 0.05f, 0), Notes, limit: 10);
        Assert.Equal("invoice", results[0].Id);
        Assert.Equal((1, 1), (results[0].KeywordRank, results[0].VectorRank));
        var budget = results.Single(r => r.Id == "budget");
        Assert.Null(budget.KeywordRank);
        Assert.Equal(2, budget.VectorRank);
        Assert.DoesNotContain(results, r => r.Id == "recipe");
        Assert.Equal(1.0 / 61 + 1.0 / 61, results[0].Score, 10);
    }

    [Fact]
    public void The_limit_is_kept_and_an_empty_query_matches_by_meaning_only()
    {
        Assert.Single(HybridRanker.Rank("invoice", V(1, 0, 0), Notes, limit: 1));
        var byMeaning = HybridRanker.Rank("   ", V(0, 1, 0), Notes, limit: 10);
        Assert.Equal("holiday", byMeaning[0].Id);
        Assert.All(byMeaning, r => Assert.Null(r.KeywordRank));
    }

    [Fact]
    public void Words_are_split_in_any_script_and_lower_cased() =>
        Assert.Equal(["café", "über", "42", "naïve"], HybridRanker.Tokenize("Café, ÜBER-42 naïve!"));
}

/// <summary>The real local model (shipped inside the NuGet package), loaded once for these tests.</summary>
[Trait("Category", "Unit")]
public sealed class MiniLmEmbedderTests(MiniLmEmbedderTests.Model model) : IClassFixture<MiniLmEmbedderTests.Model>
{
    public sealed class Model : IDisposable
    {
        public MiniLmEmbedder Embedder { get; } = new();
        public void Dispose() => Embedder.Dispose();
    }

    [Fact]
    public async Task Embeddings_are_unit_vectors_of_384_dimensions()
    {
        var vectors = await model.Embedder.EmbedAsync(["a short sentence", "another one"], default);
        Assert.Equal(2, vectors.Length);
        Assert.All(vectors, v => Assert.Equal(384, v.Length));
        Assert.All(vectors, v => Assert.Equal(1.0, Math.Sqrt(v.Sum(x => (double)x * x)), 3));
    }

    [Fact]
    public async Task Similar_meanings_are_closer_than_different_ones()
    {
        var v = await model.Embedder.EmbedAsync(["The cat sleeps on the sofa.", "A kitten is napping on the couch.", "Quarterly tax filing deadline."], default);
        Assert.True(Vectors.Cosine(v[0], v[1]) > Vectors.Cosine(v[0], v[2]) + 0.2f,
            $"cat~kitten {Vectors.Cosine(v[0], v[1])}, cat~tax {Vectors.Cosine(v[0], v[2])}");
    }

    [Fact]
    public async Task Hybrid_search_finds_a_paraphrase_that_shares_no_keyword()
    {
        string[] texts = ["Remember to water the tomato plants every evening.", "The car needs new brake pads.", "Dentist appointment on Tuesday."];
        var embeddings = await model.Embedder.EmbedAsync(texts, default);
        var candidates = texts.Select((t, i) => new SearchCandidate($"m{i}", t, embeddings[i])).ToList();
        var query = "gardening chores";
        var results = HybridRanker.Rank(query, (await model.Embedder.EmbedAsync([query], default))[0], candidates, limit: 3);
        Assert.Equal("m0", results[0].Id);
        Assert.Null(results[0].KeywordRank);
    }
}
