using System.Text.Json;
using System.Text.RegularExpressions;

namespace SmartApp.Fakes;

/// <summary>
/// How the fake model answers learning's two structured-output requests (JSON schemas <c>learned_facts</c> and
/// <c>memory_decisions</c>), by rule, as a model would for the plain statements the tests and the evaluation set make:
/// "I live in Lisbon" → "Lives in Lisbon" (topic "home city"); a new fact whose topic an existing memory shares updates it.
/// </summary>
public static partial class FakeFactModel
{
    public const string ExtractSchema = "learned_facts", DecideSchema = "memory_decisions";

    private const string Proper = @"(?<x>[A-Z][\p{L}\-']*(?:\s+[A-Z][\p{L}\-']*)*)";
    private const string Phrase = @"(?<x>[\p{L}\p{N}][\p{L}\p{N}\-' ]*?)(?=\s*(?:[.,;!?]|$|\s+(?:and|but|because|so|now)\b))";

    private static readonly (Regex Pattern, Func<string, string> Text, Func<string, string> Topic)[] Rules =
    [
        (new Regex(@"\bI\s+(?:now\s+|still\s+)?live\s+in\s+" + Proper), x => $"Lives in {x}", _ => "home city"),
        (new Regex(@"\bI(?:'ve|\s+have)?\s+(?:just\s+)?moved\s+to\s+" + Proper), x => $"Lives in {x}", _ => "home city"),
        (new Regex(@"\bI\s+(?:now\s+)?work\s+(?:at|for)\s+" + Proper), x => $"Works at {x}", _ => "employer"),
        (new Regex(@"\b[Mm]y\s+name\s+is\s+" + Proper), x => $"Is called {x}", _ => "name"),
        (new Regex(@"\bI(?:'m|\s+am)\s+allergic\s+to\s+" + Phrase), x => $"Is allergic to {x}", x => $"allergy to {x}"),
        (new Regex(@"\bI\s+have\s+a\s+(?<p>dog|cat|parrot|rabbit)\s+(?:called|named)\s+" + Proper.Replace("<x>", "<y>")), x => x, _ => "pet"),
        (new Regex(@"\bI(?:'m|\s+am)\s+(?:a\s+)?vegetarian\b"), _ => "Is vegetarian", _ => "diet"),
        (new Regex(@"\bI(?:'m|\s+am)\s+(?:a\s+)?vegan\b"), _ => "Is vegan", _ => "diet"),
        (new Regex(@"\bmy\s+favou?rite\s+(?<k>[a-z]+)\s+is\s+" + Phrase, RegexOptions.IgnoreCase), x => x, _ => ""),
        (new Regex(@"\bI\s+(?:really\s+)?(?:like|love|prefer|enjoy)\s+" + Phrase), x => $"Likes {x}", x => $"likes {x}"),
        (new Regex(@"\bI(?:'m|\s+am)\s+learning\s+" + Phrase), x => $"Is learning {x}", x => $"learning {x}"),
    ];

    /// <summary>The JSON answer to a learning request, or null when <paramref name="schema"/> is not one of learning's.</summary>
    public static string? Answer(string schema, string prompt) => schema switch
    {
        ExtractSchema => JsonSerializer.Serialize(new { facts = Extract(UserMessage(prompt)) }),
        DecideSchema => JsonSerializer.Serialize(new { decisions = Decide(prompt) }),
        _ => null,
    };

    private static string UserMessage(string prompt)
    {
        var start = prompt.IndexOf("<<<\n", StringComparison.Ordinal);
        var end = start < 0 ? -1 : prompt.IndexOf("\n>>>", start, StringComparison.Ordinal);
        return start < 0 || end < 0 ? "" : prompt[(start + 4)..end];
    }

    public static IReadOnlyList<(string Text, string Topic)> ExtractFacts(string message) =>
        Extract(message).Select(f => (f.text, f.topic)).ToList();

    private static List<Fact> Extract(string message)
    {
        var facts = new List<Fact>();
        foreach (var (pattern, text, topic) in Rules)
            foreach (Match m in pattern.Matches(message))
            {
                if (m.Groups["p"].Success)
                    facts.Add(new($"Has a {m.Groups["p"].Value} called {m.Groups["y"].Value}", "pet"));
                else if (m.Groups["k"].Success)
                    facts.Add(new($"Favourite {m.Groups["k"].Value.ToLowerInvariant()} is {m.Groups["x"].Value.Trim()}", $"favourite {m.Groups["k"].Value.ToLowerInvariant()}"));
                else
                    facts.Add(new(text(m.Groups["x"].Value.Trim()), topic(m.Groups["x"].Value.Trim().ToLowerInvariant())));
            }
        return facts.DistinctBy(f => f.text).ToList();
    }

    [GeneratedRegex(@"^New fact (?<label>F\d+)(?: \[topic: (?<topic>[^\]]*)\])?: (?<text>.*)$")]
    private static partial Regex NewFactLine();

    [GeneratedRegex(@"^\s+Existing (?<label>M\d+)(?: \[topic: (?<topic>[^\]]*)\])?: (?<text>.*)$")]
    private static partial Regex ExistingLine();

    /// <summary>Per new fact: none when a memory shown with it says the same, update the one that shares its topic, else add.</summary>
    private static List<Decision> Decide(string prompt)
    {
        var decisions = new List<Decision>();
        (string Label, string? Topic, string Text)? fact = null;
        var shown = new List<(string Label, string? Topic, string Text)>();
        void Close()
        {
            if (fact is not { } f) return;
            var same = shown.FirstOrDefault(m => string.Equals(m.Text, f.Text, StringComparison.OrdinalIgnoreCase));
            var topic = shown.FirstOrDefault(m => m.Topic is not null && string.Equals(m.Topic, f.Topic, StringComparison.OrdinalIgnoreCase));
            decisions.Add(same.Label is not null ? new(f.Label, "none", same.Label, null)
                : topic.Label is not null ? new(f.Label, "update", topic.Label, f.Text)
                : new(f.Label, "add", null, null));
        }
        foreach (var line in prompt.Split('\n'))
        {
            if (NewFactLine().Match(line) is { Success: true } n)
            {
                Close();
                fact = (n.Groups["label"].Value, n.Groups["topic"].Success ? n.Groups["topic"].Value : null, n.Groups["text"].Value);
                shown.Clear();
            }
            else if (ExistingLine().Match(line) is { Success: true } e)
            {
                shown.Add((e.Groups["label"].Value, e.Groups["topic"].Success ? e.Groups["topic"].Value : null, e.Groups["text"].Value));
            }
        }
        Close();
        return decisions;
    }

    private sealed record Fact(string text, string topic);

    private sealed record Decision(string fact, string action, string? memory, string? text);
}
