using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SmartApp.Benchmarks;
using SmartApp.DevHost;
using SmartApp.Domain.Common;
using SmartApp.Domain.Identity;
using SmartApp.Domain.Memory;
using SmartApp.Domain.Memory.Learning;
using SmartApp.Fakes;

namespace SmartApp.Evaluation;

/// <summary>
/// Memory that learns, measured on memory-set.json: each user's turns go to working memory as a chat turn writes them and are
/// learned from by the app's own learning job (the fake model extracting by rule, as its structured outputs do in the tests),
/// in order; then each question is searched as a chat turn gathers its memory context (five results). Prints recall@5 of the
/// memory a question needs, and how often the context (its first source, which the fake model answers from, and any of its five)
/// holds a fact the user has since changed — with learning on, and with learning off, where chat transcripts are the memory.
/// </summary>
internal static class MemoryEvaluation
{
    private const int ContextItems = 5;

    public static async Task RunAsync(string devHost, string setPath)
    {
        var set = JsonSerializer.Deserialize<MemorySet>(await File.ReadAllTextAsync(setPath), new JsonSerializerOptions(JsonSerializerDefaults.Web))
            ?? throw new InvalidOperationException("The memory set is empty.");
        await using var emulators = await DevHostProcess.StartAsync(devHost, ["--emulators-only"], TimeSpan.FromMinutes(5));
        await using var model = await FakeVultr.StartAsync();
        Console.WriteLine($"Memory set: {set.Users.Count} users, {set.Users.Sum(u => u.Turns.Count)} turns, {set.Users.Sum(u => u.Questions.Count)} questions " +
            $"({set.Users.Sum(u => u.Questions.Count(q => q.Outdated is { Count: > 0 }))} about a fact the user changed).");
        Console.WriteLine();
        Console.WriteLine("| Memory | recall@5 | answer from an outdated fact (first source) | outdated fact anywhere in the context | facts kept | model requests per turn |");
        Console.WriteLine("|---|---|---|---|---|---|");
        var notes = new List<(string Row, List<string> Misses)>();
        foreach (var learning in new[] { true, false })
        {
            await using var provider = Bench.InProcess(emulators.State, (services, configuration) => services.AddMemory(configuration), settings: new Dictionary<string, string?>
            {
                ["Vultr:BaseUrl"] = model.BaseUrl, ["Vultr:ApiKey"] = FakeVultr.ApiKey, ["Vultr:Model"] = "e2e-model", ["Memory:Learning"] = learning ? "true" : "false",
            });
            var memory = provider.GetRequiredService<MemoryService>();
            var learner = provider.GetRequiredService<MemoryLearning>();
            var requestsBefore = model.LearningRequests.Count;
            int needed = 0, found = 0, changed = 0, firstOutdated = 0, anyOutdated = 0, facts = 0;
            var misses = new List<string>();
            foreach (var person in set.Users)
            {
                var user = new CurrentUser("eval-" + Guid.NewGuid().ToString("N")[..12], null, null, false);
                var session = (await memory.StartSessionAsync(user, default)).Id;
                var conversation = Ids.New("conv");
                var at = DateTimeOffset.UtcNow;
                foreach (var turn in person.Turns)
                {
                    // What a chat turn leaves: the message in working memory, then (learning on) the learning job's run on it.
                    await memory.PutAsync(user, session, turn, "chat", null, "user", default);
                    at = at.AddMinutes(1);
                    if (learning)
                        await learner.LearnAsync(JsonSerializer.Serialize(new LearningMessage(user.UserId, conversation, Ids.New("msg"), at, turn, null), JsonDefaults.Options), default);
                }
                facts += (await memory.ListAllAsync(user, new MemoryFilter(new HashSet<MemoryKind> { MemoryKind.Semantic }, null, null, null, null), null, 200, default)).Memories.Count;
                foreach (var question in person.Questions)
                {
                    var context = await memory.SearchAsync(user, question.Text, null, null, null, ContextItems, default, default, exceptTimeline: learning ? "chat" : null);
                    needed++;
                    if (context.Any(h => Holds(h.Memory.Content, question.Expect))) found++;
                    else misses.Add($"\"{question.Text}\" did not find \"{question.Expect}\" (found: {string.Join(" | ", context.Select(h => h.Memory.Content))})");
                    if (question.Outdated is not { Count: > 0 } outdated) continue;
                    changed++;
                    // A statement of the current fact may name the old one too ("moved to Porto from Lisbon"): outdated means it states only the old.
                    bool Outdated(MemorySearchHit h) => outdated.Any(o => Holds(h.Memory.Content, o)) && !Holds(h.Memory.Content, question.Expect);
                    if (context.Count > 0 && Outdated(context[0])) firstOutdated++;
                    if (context.Any(Outdated))
                    {
                        anyOutdated++;
                        misses.Add($"\"{question.Text}\" had an outdated fact in its context: {string.Join(" | ", context.Where(Outdated).Select(h => h.Memory.Content))}");
                    }
                }
            }
            var turns = set.Users.Sum(u => u.Turns.Count);
            Console.WriteLine($"| {(learning ? "learning on: learned facts, kept current (chat transcripts left out of the context)" : "learning off: chat transcripts in working memory")} | " +
                $"{Rate(found, needed)} | {Rate(firstOutdated, changed)} | {Rate(anyOutdated, changed)} | {facts} | " +
                $"{((double)(model.LearningRequests.Count - requestsBefore) / turns).ToString("0.00", CultureInfo.InvariantCulture)} |");
            notes.Add((learning ? "learning on" : "learning off", misses));
        }
        Console.WriteLine();
        foreach (var (row, misses) in notes)
            foreach (var miss in misses)
                Console.WriteLine($"- {row}: {miss}");
    }

    private static bool Holds(string text, string words) => text.Contains(words, StringComparison.OrdinalIgnoreCase);

    private static string Rate(int count, int of) => of == 0 ? "-" : ((double)count / of).ToString("0.000", CultureInfo.InvariantCulture);

    private sealed record MemorySet(string? About, IReadOnlyList<Person> Users);

    private sealed record Person(IReadOnlyList<string> Turns, IReadOnlyList<Question> Questions);

    private sealed record Question(string Text, string Expect, IReadOnlyList<string>? Outdated);
}
