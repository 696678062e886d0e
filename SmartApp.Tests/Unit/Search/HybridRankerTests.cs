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
        Assert.Equal(1.0, results[0].Score, 10); // every keyword, and nearly the same meaning
    }

    [Fact]
    public void Scores_are_relevance_on_the_similarity_itself_half_at_the_gate_and_never_rising_down_the_list()
    {
        Assert.Equal(0.5, HybridRanker.Relevance(HybridRanker.RelevantCosine, 0), 10);
        Assert.Equal(0.5, HybridRanker.Relevance(0, HybridRanker.RelevantCoverage), 10);
        Assert.Equal(1.0, HybridRanker.Relevance(0.9, 0), 10);
        Assert.Equal(1.0, HybridRanker.Relevance(0.1, 1), 10);
        Assert.True(HybridRanker.Relevance(0.24, 0.33) < HybridRanker.RelevantScore);

        // The same passage found first by a close and by a loose query: its score says how well it answers each.
        var invoice = new SearchCandidate("invoice", "The invoice for March is overdue.", V(1, 0, 0));
        var close = Assert.Single(HybridRanker.Rank("overdue invoice", V(1, 0, 0), [invoice], limit: 5)).Score;
        var loose = Assert.Single(HybridRanker.Rank("pending bills", V(0.45f, 0.893f, 0), [invoice], limit: 5)).Score;
        Assert.Equal(1.0, close, 10);
        Assert.InRange(loose, 0.65, 0.75); // cosine 0.45

        var results = HybridRanker.Rank("invoice", V(1, 0.05f, 0), Notes, limit: 10);
        Assert.All(results, r => Assert.InRange(r.Score, HybridRanker.RelevantScore, 1));
        Assert.Equal(results.Select(r => r.Score).OrderByDescending(x => x), results.Select(r => r.Score));
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

    [Fact]
    public void Single_letters_and_stop_words_are_not_keywords_but_single_digits_are() =>
        Assert.Equal(["vitamin", "deficiency", "5"], HybridRanker.Tokenize("What is a vitamin D deficiency? How do I get 5?"));

    [Fact]
    public void A_question_sharing_only_a_letter_and_stop_words_with_a_passage_is_no_keyword_match()
    {
        var manual = new SearchCandidate("manual", "Press D to open the menu. The settings are in the top bar.", V(0, 0, 1));
        var found = HybridRanker.Rank("what is the vitamin D deficiency", V(1, 0, 0), [manual], limit: 5);
        Assert.Empty(found);
    }

    [Fact]
    public void A_passage_sharing_one_word_of_three_and_far_in_meaning_is_not_relevant()
    {
        var plant = new SearchCandidate("plant", "Check the drainage holes of the pot.", V(0, 0, 1));
        Assert.Empty(HybridRanker.Rank("how do black holes form", V(1, 0, 0), [plant], limit: 5));
    }

    [Fact]
    public void A_passage_holding_half_the_querys_words_is_relevant_however_far_in_meaning()
    {
        var log = new SearchCandidate("log", "ERR-4711 was raised by the export job.", V(0, 0, 1));
        Assert.Equal("log", Assert.Single(HybridRanker.Rank("ERR-4711 meaning", V(1, 0, 0), [log], limit: 5)).Id);
    }

    [Fact]
    public void A_passage_close_in_meaning_is_relevant_without_a_shared_word()
    {
        var close = new SearchCandidate("close", "Kitten napping on the couch.", V(1, 0.2f, 0));
        Assert.Single(HybridRanker.Rank("cat sleeping on sofa", V(1, 0, 0), [close], limit: 5));
    }
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
