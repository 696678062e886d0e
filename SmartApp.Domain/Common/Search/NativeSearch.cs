using System.Globalization;
using System.Text.Json;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Logging;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Common.Search;

/// <summary>
/// Hybrid search by Cosmos DB itself, scoped to one owner's key: the owner's nearest items by vector
/// (<c>ORDER BY VectorDistance</c>) and their best items by keywords (<c>ORDER BY RANK FullTextScore</c>), asked
/// side by side, then fused here by reciprocal rank with the same relevance gate as the in-process engine
/// (<see cref="HybridRanker.Fuse"/>). Two queries rather than one <c>ORDER BY RANK RRF(...)</c>: the fusion keeps
/// each item's cosine and keyword coverage, which decide whether it is relevant at all, and both queries run on
/// the local emulator too. Nothing is loaded or kept between searches.
/// </summary>
public sealed partial class NativeSearch<TRow>(CosmosStore store, CosmosContainerSpec container, string fields, ILogger logger) : IOwnerSearch<TRow>
    where TRow : class, ISearchRow
{
    /// <summary>Keywords a search sends at most (a longer query's first ones): the full-text query grows with each.</summary>
    public const int MaxKeywords = 16;

    private readonly SearchedPaths _paths = container.Search ?? throw new ArgumentException($"Container {container.Name} is not searched.", nameof(container));

    public async Task<IReadOnlyList<(TRow Row, RankedResult Rank)>> SearchAsync(string owner, string query, float[] queryEmbedding, int limit, SearchFilter<TRow> filter, CancellationToken cancellationToken)
    {
        var cosmos = await store.GetContainerAsync(container, cancellationToken).ConfigureAwait(false);
        var depth = Math.Max(limit * 5, 50);
        var terms = HybridRanker.Tokenize(query).Distinct().Take(MaxKeywords).ToList();
        var text = Path(_paths.TextPath);
        var vector = Path(_paths.VectorPath);
        var similarity = $"VectorDistance({vector}, @embedding)";

        var nearest = ReadAsync(cosmos, owner,
            Query($"SELECT TOP @depth {fields}, {similarity} AS similarity FROM c WHERE ({filter.Where}) ORDER BY {similarity}", depth, queryEmbedding, filter), cancellationToken);
        var keywords = terms.Count == 0
            ? Task.FromResult(new List<(TRow Row, double Similarity)>())
            : ReadAsync(cosmos, owner, Query(
                $"SELECT TOP @depth {fields}, {similarity} AS similarity FROM c WHERE ({filter.Where}) AND FullTextContainsAny({text}, {Literals(terms)}) ORDER BY RANK FullTextScore({text}, {Literals(terms)})",
                depth, queryEmbedding, filter), cancellationToken);
        await Task.WhenAll(nearest, keywords).ConfigureAwait(false);

        // One list of candidates: those found by meaning, then those found by keywords only.
        var rows = new List<TRow>();
        var cosines = new List<double>();
        var position = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (row, cosine) in nearest.Result.Concat(keywords.Result))
        {
            if (position.ContainsKey(row.Id)) continue;
            position[row.Id] = rows.Count;
            rows.Add(row);
            cosines.Add(cosine);
        }
        var n = rows.Count;
        var keywordScores = new double[n];
        for (var rank = 0; rank < keywords.Result.Count; rank++) keywordScores[position[keywords.Result[rank].Row.Id]] = keywords.Result.Count - rank; // the service's order, as scores
        var coverage = rows.Select(row => Coverage(terms, row.Text)).ToArray();
        var ranked = HybridRanker.Fuse(i => rows[i].Id, keywordScores, [.. cosines], coverage, Enumerable.Repeat(true, n).ToArray(), limit, HybridRanker.DefaultMinimumCosine);
        LogSearched(logger, container.Name, nearest.Result.Count, keywords.Result.Count, ranked.Count);
        return ranked.Select(r => (rows[r.Position], r)).ToList();
    }

    public void MarkStale(string owner)
    {
        // Nothing is kept: every search asks the store.
    }

    private static QueryDefinition Query(string sql, int depth, float[] embedding, SearchFilter<TRow> filter)
    {
        var definition = new QueryDefinition(sql).WithParameter("@depth", depth).WithParameter("@embedding", embedding);
        foreach (var (name, value) in filter.Parameters) definition = definition.WithParameter(name, value);
        return definition;
    }

    /// <summary>The query's rows with their similarity, in the service's order. Rows that are not searchable (other item types) are skipped.</summary>
    private async Task<List<(TRow Row, double Similarity)>> ReadAsync(Container cosmos, string owner, QueryDefinition query, CancellationToken cancellationToken)
    {
        var found = await cosmos.QueryPartitionAsync<JsonElement>(container.OwnerKey(owner), query, cancellationToken).ConfigureAwait(false);
        return found
            .Select(item => (Row: item.Deserialize<TRow>(JsonDefaults.Options)!, Similarity: item.TryGetProperty("similarity", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetDouble() : 0))
            .Where(x => x.Row.Searchable)
            .ToList();
    }

    /// <summary>The share of the query's keywords the text holds, as the in-process engine counts it.</summary>
    private static double Coverage(IReadOnlyList<string> terms, string? text)
    {
        if (terms.Count == 0 || text is null) return 0;
        var words = SearchText.From(text).Frequencies;
        return (double)terms.Count(words.ContainsKey) / terms.Count;
    }

    /// <summary>Keywords as SQL string literals: they are letters and digits only (<see cref="HybridRanker.Tokenize"/>), so nothing needs escaping.</summary>
    private static string Literals(IEnumerable<string> terms) => string.Join(", ", terms.Select(t => string.Create(CultureInfo.InvariantCulture, $"'{t}'")));

    private static string Path(string path) => "c" + path.Replace('/', '.');

    [LoggerMessage(EventId = 1203, Level = LogLevel.Debug, Message = "Searched {Container} natively: {ByMeaning} by meaning, {ByKeywords} by keywords, {Found} found")]
    private static partial void LogSearched(ILogger logger, string container, int byMeaning, int byKeywords, int found);
}
