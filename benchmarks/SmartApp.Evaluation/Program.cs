using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SmartApp.DevHost;
using SmartApp.Domain.Common.Search;
using SmartApp.Domain.Files;
using SmartApp.Domain.Files.Ingestion;
using SmartApp.Domain.Identity;

// Retrieval quality of file search on the set in retrieval-set.json: each document cut into passages as ingestion
// cuts them, embedded by the same model, and searched by each ranking the app has (or could have): the app's two
// engines through its own file search against the emulators (the passages stored as ingestion stores them), and
// the rankings computed here. Prints, per ranking, recall@1 and recall@5 of the passage each question needs, its
// mean reciprocal rank (first 10), how often an exact-word question finds it first, how many distinct files fill
// the top 10, and how often a question no document answers gets results anyway.
// With --memory: memory that learns, on memory-set.json (SmartApp.Evaluation.MemoryEvaluation).
if (args.Contains("--memory"))
{
    await SmartApp.Evaluation.MemoryEvaluation.RunAsync(
        typeof(Evaluation).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "DevHostAssembly").Value!,
        args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? Path.Combine(AppContext.BaseDirectory, "memory-set.json"));
    return;
}

var setPath = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? Path.Combine(AppContext.BaseDirectory, "retrieval-set.json");
var set = JsonSerializer.Deserialize<RetrievalSet>(File.ReadAllText(setPath), new JsonSerializerOptions(JsonSerializerDefaults.Web))
    ?? throw new InvalidOperationException("The retrieval set is empty.");

using var embedder = new MiniLmEmbedder();
var passages = set.Documents
    .SelectMany(d => Chunker.Split([new ExtractedPage(null, d.Text)], Evaluation.ChunkCharacters).Select((c, i) => new Passage($"{d.Id}#{i}", d.Id, c.Text, c.Start, c.End)))
    .ToList();
var embeddings = await embedder.EmbedAsync(passages.Select(p => p.Text).ToList(), default);
var candidates = passages.Select((p, i) => new SearchCandidate(p.Id, p.Text, embeddings[i])).ToList();
var byId = passages.ToDictionary(p => p.Id);

foreach (var question in set.Questions.Where(q => q.Evidence is not null))
    if (!passages.Any(p => p.Document == question.Document && p.Text.Contains(question.Evidence!, StringComparison.Ordinal)))
        throw new InvalidOperationException($"No passage of '{question.Document}' holds the evidence of \"{question.Text}\".");

var questionEmbeddings = await embedder.EmbedAsync(set.Questions.Select(q => q.Text).ToList(), default);
var engines = await Evaluation.SearchByEnginesAsync(set, passages, embeddings);
foreach (var returned in engines.Values.SelectMany(e => e).SelectMany(found => found)) byId.TryAdd(returned.Id, returned); // merged neighbours: their own text
var rankings = new (string Name, Func<int, IReadOnlyList<string>> Search)[]
{
    ("the app, native engine (Cosmos DB vector + full-text queries, on the emulator)", q => [.. engines[SearchEngineKind.Native][q].Select(p => p.Id)]),
    ("the app, in-process engine", q => [.. engines[SearchEngineKind.InProcess][q].Select(p => p.Id)]),
    ("hybrid computed here (RRF, relevance gate)", q => HybridRanker.Rank(set.Questions[q].Text, questionEmbeddings[q], candidates, Evaluation.Depth).Select(r => r.Id).ToList()),
    ("keyword only (BM25)", q => HybridRanker.Bm25(set.Questions[q].Text, candidates).Where(s => s.Score > 0).OrderByDescending(s => s.Score)
        .Take(Evaluation.Depth).Select(s => s.Id).ToList()),
    ("vector only (cosine >= 0.2)", q => candidates.Select(c => (c.Id, Score: Vectors.Cosine(questionEmbeddings[q], c.Embedding)))
        .Where(s => s.Score >= HybridRanker.DefaultMinimumCosine).OrderByDescending(s => s.Score).Take(Evaluation.Depth).Select(s => s.Id).ToList()),
};

Console.WriteLine($"Retrieval set: {set.Documents.Count} documents, {passages.Count} passages, " +
    $"{set.Questions.Count(q => q.Kind == "exact")} exact-word, {set.Questions.Count(q => q.Kind == "paraphrase")} paraphrased and {set.Questions.Count(q => q.Kind == "offTopic")} off-topic questions.");
Console.WriteLine();
Console.WriteLine("| Ranking | recall@1 | recall@5 | MRR@10 | exact first | paraphrase recall@5 | distinct files in top 10 | off-topic answered |");
Console.WriteLine("|---|---|---|---|---|---|---|---|");
foreach (var (name, search) in rankings)
{
    var answerable = new List<int?>();
    var exactFirst = new List<bool>();
    var paraphraseTop5 = new List<bool>();
    var distinctFiles = new List<int>();
    var offTopicAnswered = 0;
    for (var q = 0; q < set.Questions.Count; q++)
    {
        var question = set.Questions[q];
        var found = search(q);
        if (question.Kind == "offTopic")
        {
            if (found.Count > 0) offTopicAnswered++;
            continue;
        }
        var rank = found.Select((id, i) => (id, i)).FirstOrDefault(x => Relevant(byId[x.id], question)).id is { } hit ? found.ToList().IndexOf(hit) + 1 : (int?)null;
        answerable.Add(rank);
        if (question.Kind == "exact") exactFirst.Add(rank == 1);
        if (question.Kind == "paraphrase") paraphraseTop5.Add(rank is <= 5);
        distinctFiles.Add(found.Take(10).Select(id => byId[id].Document).Distinct().Count());
    }
    var offTopic = set.Questions.Count(q => q.Kind == "offTopic");
    Console.WriteLine($"| {name} | {Rate(answerable.Count(r => r == 1), answerable.Count)} | {Rate(answerable.Count(r => r is <= 5), answerable.Count)} | " +
        $"{answerable.Average(r => r is { } x ? 1.0 / x : 0).ToString("0.000", CultureInfo.InvariantCulture)} | {Rate(exactFirst.Count(x => x), exactFirst.Count)} | " +
        $"{Rate(paraphraseTop5.Count(x => x), paraphraseTop5.Count)} | {distinctFiles.Average().ToString("0.0", CultureInfo.InvariantCulture)} | {Rate(offTopicAnswered, offTopic)} |");
}

// The up-front context of a chat turn with tools on: with k passages given before the model's first word, how often the
// passage the question needs is among them (the model can answer at once), how often it is not (the model must call
// search_files: one more model round), and what the k passages cost in prompt tokens (o200k), through the app's own search.
Console.WriteLine();
Console.WriteLine("| Up-front passages (k) | answerable in the first round (recall@k) | turns needing a tool round | context tokens per turn (mean) |");
Console.WriteLine("|---|---|---|---|");
var native = engines[SearchEngineKind.Native];
var answerableQuestions = Enumerable.Range(0, set.Questions.Count).Where(q => set.Questions[q].Kind != "offTopic").ToList();
foreach (var k in new[] { 0, 1, 2, 3, 4, 5 })
{
    var inContext = answerableQuestions.Count(q => native[q].Take(k).Any(p => Relevant(p, set.Questions[q])));
    var tokens = answerableQuestions.Average(q => native[q].Take(k).Sum(p => SmartApp.Domain.Chat.ChatPromptBuilder.Cost(new Microsoft.Extensions.AI.ChatMessage(Microsoft.Extensions.AI.ChatRole.User, p.Text))));
    Console.WriteLine($"| {k} | {Rate(inContext, answerableQuestions.Count)} | {Rate(answerableQuestions.Count - inContext, answerableQuestions.Count)} | {tokens.ToString("0", CultureInfo.InvariantCulture)} |");
}

// Where a similarity threshold could tell "nothing relevant" from an answer: each question's best cosine to any passage.
var best = set.Questions.Select((q, i) => (q.Kind, Best: candidates.Max(c => Vectors.Cosine(questionEmbeddings[i], c.Embedding)))).ToList();
var answerableBest = best.Where(b => b.Kind != "offTopic").Select(b => b.Best).Order().ToList();
var offTopicBest = best.Where(b => b.Kind == "offTopic").Select(b => b.Best).Order().ToList();
Console.WriteLine();
Console.WriteLine($"Best cosine per question: answerable lowest {answerableBest[0]:0.000}, 5th percentile {answerableBest[answerableBest.Count / 20]:0.000}, " +
    $"median {answerableBest[answerableBest.Count / 2]:0.000}; off-topic median {offTopicBest[offTopicBest.Count / 2]:0.000}, highest {offTopicBest[^1]:0.000}.");

// What the score of the first result says (the relevance the app reports, HybridRanker.Relevance): answerable
// questions against off-topic ones that still found something.
var firstScores = set.Questions.Select((q, i) => (q.Kind, Score: HybridRanker.Rank(q.Text, questionEmbeddings[i], candidates, 1).FirstOrDefault()?.Score)).ToList();
var answerableScores = firstScores.Where(s => s.Kind != "offTopic" && s.Score is not null).Select(s => s.Score!.Value).Order().ToList();
var offTopicScores = firstScores.Where(s => s.Kind == "offTopic" && s.Score is not null).Select(s => s.Score!.Value).Order().ToList();
Console.WriteLine($"Score of the first result: answerable questions median {answerableScores[answerableScores.Count / 2]:0.000}, lowest {answerableScores[0]:0.000}, " +
    $"{Rate(answerableScores.Count(x => x >= 0.6), answerableScores.Count)} at 0.6 or more; off-topic questions that found something: " +
    (offTopicScores.Count == 0 ? "none." : $"{string.Join(", ", offTopicScores.Select(x => x.ToString("0.000", CultureInfo.InvariantCulture)))}."));

// With --explain: what each off-topic question found first, and why (its cosine, and the words it shares with the passage).
if (args.Contains("--explain"))
{
    Console.WriteLine();
    for (var q = 0; q < set.Questions.Count; q++)
    {
        if (set.Questions[q].Kind != "offTopic") continue;
        var top = HybridRanker.Rank(set.Questions[q].Text, questionEmbeddings[q], candidates, 1).FirstOrDefault();
        if (top is null) continue;
        var passage = candidates.First(c => c.Id == top.Id);
        var shared = HybridRanker.Tokenize(set.Questions[q].Text).Distinct().Where(passage.Text.Frequencies.ContainsKey);
        Console.WriteLine($"- \"{set.Questions[q].Text}\" -> {top.Id}: cosine {Vectors.Cosine(questionEmbeddings[q], passage.Embedding):0.000}, shared words [{string.Join(", ", shared)}]");
    }
}

static bool Relevant(Passage passage, Question question) =>
    passage.Document == question.Document && passage.Text.Contains(question.Evidence!, StringComparison.Ordinal);

static string Rate(int count, int of) => of == 0 ? "-" : ((double)count / of).ToString("0.000", CultureInfo.InvariantCulture);

internal static class Evaluation
{
    /// <summary>Passage size as ingestion cuts files by default (Files:ChunkCharacters).</summary>
    public const int ChunkCharacters = 1000;

    /// <summary>Results asked of each ranking: enough for MRR@10 and the distinct-files figure.</summary>
    public const int Depth = 10;

    /// <summary>
    /// Each question's results from the app's file search under each engine: the documents stored as files of one user
    /// (file <c>file_000</c> is document 0), their passages with the embeddings computed here, in the emulators. Each
    /// result as the app returned it (neighbouring passages it merged are one result, with their text).
    /// </summary>
    public static async Task<Dictionary<SearchEngineKind, List<IReadOnlyList<Passage>>>> SearchByEnginesAsync(
        RetrievalSet set, IReadOnlyList<Passage> passages, float[][] embeddings)
    {
        var devHost = typeof(Evaluation).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "DevHostAssembly").Value!;
        await using var emulators = await DevHostProcess.StartAsync(devHost, ["--emulators-only"], TimeSpan.FromMinutes(5));
        var database = "eval" + Guid.NewGuid().ToString("N")[..8];
        var user = new CurrentUser("eval-user", null, null, false);
        var documentIndex = set.Documents.Select((d, i) => (d.Id, i)).ToDictionary(x => x.Id, x => x.i);
        await using (var seeding = SmartApp.Benchmarks.Bench.InProcess(emulators.State, (services, configuration) => services.AddFiles(configuration), database))
        {
            var store = seeding.GetRequiredService<IFileStore>();
            foreach (var group in passages.Select((p, i) => (Passage: p, Embedding: embeddings[i])).GroupBy(x => x.Passage.Document))
            {
                var fileId = $"file_{documentIndex[group.Key]:D3}";
                await store.CreateAsync(user.UserId, new StoredFile(fileId, group.Key + ".md", "text/markdown", 1, DateTimeOffset.UtcNow) { Status = FileStatus.Indexed }, default);
                var chunks = group.Select((x, i) => (new FileChunk($"chk_{fileId[5..]}_{i}", fileId, i, null, x.Passage.Start, x.Passage.End, x.Passage.Text), x.Embedding)).ToList();
                await store.WriteChunksAsync(user.UserId, fileId, chunks, default);
            }
        }
        var results = new Dictionary<SearchEngineKind, List<IReadOnlyList<Passage>>>();
        foreach (var engine in new[] { SearchEngineKind.Native, SearchEngineKind.InProcess })
        {
            await using var app = SmartApp.Benchmarks.Bench.InProcess(emulators.State, (services, configuration) => services.AddFiles(configuration), database,
                new Dictionary<string, string?> { ["Search:Engine"] = engine.ToString() });
            var files = app.GetRequiredService<FileService>();
            var found = new List<IReadOnlyList<Passage>>();
            foreach (var question in set.Questions)
            {
                var hits = await files.SearchAsync(user, question.Text, null, Depth, default);
                found.Add(hits.Select(h =>
                {
                    var document = set.Documents[int.Parse(h.Chunk.FileId[5..], CultureInfo.InvariantCulture)].Id;
                    var passage = passages.FirstOrDefault(p => p.Document == document && p.Start == h.Chunk.Start && p.End == h.Chunk.End);
                    return passage ?? new Passage($"{document}@{h.Chunk.Start}-{h.Chunk.End}", document, h.Chunk.Text, h.Chunk.Start, h.Chunk.End);
                }).ToList());
            }
            results[engine] = found;
        }
        return results;
    }
}

internal sealed record RetrievalSet(IReadOnlyList<Document> Documents, IReadOnlyList<Question> Questions);

internal sealed record Document(string Id, string Name, string Text);

/// <param name="Kind"><c>exact</c> (the page's own words), <c>paraphrase</c>, or <c>offTopic</c> (nothing answers it).</param>
/// <param name="Evidence">A phrase of the passage the question needs.</param>
internal sealed record Question(string Kind, string Text, string? Document, string? Evidence);

/// <param name="Start">Where the passage starts in its document's text (and <paramref name="End"/> ends), as ingestion records it.</param>
internal sealed record Passage(string Id, string Document, string Text, int Start, int End);
