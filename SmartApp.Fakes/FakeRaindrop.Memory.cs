using System.Text.Json.Nodes;

namespace SmartApp.Fakes;

/// <summary>SmartMemory: sessions and their memories, episodic summaries, semantic documents, procedures per procedural memory; searched by shared words.</summary>
public sealed partial class FakeRaindrop
{
    public sealed record FakeMemory(string Id, string SessionId, string Content, string? Timeline, string? Key);

    private readonly Dictionary<string, List<FakeMemory>> _sessions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _episodic = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _documents = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Memory, string Key), string> _procedures = [];
    private int _ids;

    /// <summary>Working memories held now, per Raindrop session.</summary>
    public IReadOnlyDictionary<string, FakeMemory[]> Sessions { get { lock (_gate) return _sessions.ToDictionary(s => s.Key, s => s.Value.ToArray()); } }

    public IReadOnlyCollection<string> Documents { get { lock (_gate) return [.. _documents.Values]; } }

    public IReadOnlyDictionary<(string Memory, string Key), string> Procedures { get { lock (_gate) return new Dictionary<(string, string), string>(_procedures); } }

    private JsonObject? AnswerMemory(string verb, JsonObject body)
    {
        var sessionId = Str(body["sessionId"]);
        switch (verb)
        {
            case "start_session":
                var started = NewId("rs");
                _sessions[started] = [];
                return new JsonObject { ["sessionId"] = started };
            case "put_memory" when sessionId is not null && _sessions.TryGetValue(sessionId, out var memories) && Str(body["content"]) is { } content:
                var memory = new FakeMemory(NewId("rm"), sessionId, content, Str(body["timeline"]), Str(body["key"]));
                memories.Add(memory);
                return new JsonObject { ["memoryId"] = memory.Id };
            case "delete_memory" when sessionId is not null && _sessions.TryGetValue(sessionId, out var held) && Str(body["memoryId"]) is { } memoryId:
                held.RemoveAll(m => m.Id == memoryId);
                return new JsonObject { ["success"] = true }; // deleting what is gone is done, not a failure
            case "end_session" when sessionId is not null && _sessions.TryGetValue(sessionId, out var ending):
                if (body["flush"]?.GetValue<bool>() == true) _episodic[sessionId] = string.Join(" ", ending.Select(m => m.Content));
                return new JsonObject { ["success"] = true };
            case "search_memory" when sessionId is not null && Str(body["terms"]) is { } terms:
                var inSession = _sessions.GetValueOrDefault(sessionId) ?? [];
                var timeline = Str(body["timeline"]);
                return new JsonObject
                {
                    ["memories"] = new JsonArray([.. Ranked(inSession.Where(m => timeline is null || m.Timeline == timeline), m => m.Content, terms)
                        .Select(m => (JsonNode)new JsonObject { ["id"] = m.Item.Id, ["content"] = m.Item.Content, ["sessionId"] = m.Item.SessionId, ["timeline"] = m.Item.Timeline ?? "default", ["by"] = "user", ["dueTo"] = "", ["at"] = DateTimeOffset.UtcNow.ToString("O") })]),
                };
            case "search_episodic_memory" when Str(body["terms"]) is { } episodicTerms:
                return new JsonObject
                {
                    ["entries"] = new JsonArray([.. Ranked(_episodic, e => e.Value, episodicTerms)
                        .Select(e => (JsonNode)new JsonObject { ["sessionId"] = e.Item.Key, ["summary"] = e.Item.Value, ["agent"] = "", ["createdAt"] = DateTimeOffset.UtcNow.ToString("O"), ["duration"] = "1000", ["entryCount"] = 1, ["timelineCount"] = 1, ["score"] = e.Score })]),
                };
            case "put_semantic_memory" when Str(body["document"]) is { } document:
                var objectId = NewId("ro");
                _documents[objectId] = document;
                return new JsonObject { ["success"] = true, ["objectId"] = objectId };
            case "delete_semantic_memory" when Str(body["objectId"]) is { } removed:
                _documents.Remove(removed);
                return new JsonObject { ["success"] = true };
            case "search_semantic_memory" when Str(body["needle"]) is { } needle:
                return new JsonObject
                {
                    ["success"] = true,
                    ["documentSearchResponse"] = new JsonObject
                    {
                        ["results"] = new JsonArray([.. Ranked(_documents, d => d.Value, needle)
                            .Select(d => (JsonNode)new JsonObject { ["text"] = d.Item.Value, ["source"] = d.Item.Key, ["score"] = d.Score, ["type"] = "application/json" })]),
                    },
                };
            case "put_procedure" when Str(body["key"]) is { } key && Str(body["value"]) is { } value:
                _procedures[(Str(body["proceduralMemoryId"]) ?? "", key)] = value;
                return new JsonObject { ["success"] = true };
            case "delete_procedure" when Str(body["key"]) is { } deletedKey:
                _procedures.Remove((Str(body["proceduralMemoryId"]) ?? "", deletedKey));
                return new JsonObject { ["success"] = true };
            case "search_procedures" when Str(body["terms"]) is { } procedureTerms:
                var procedural = Str(body["proceduralMemoryId"]) ?? "";
                return new JsonObject
                {
                    ["procedures"] = new JsonArray([.. Ranked(_procedures.Where(p => p.Key.Memory == procedural), p => p.Key.Key + " " + p.Value, procedureTerms)
                        .Select(p => (JsonNode)new JsonObject { ["key"] = p.Item.Key.Key, ["value"] = p.Item.Value, ["createdAt"] = DateTimeOffset.UtcNow.ToString("O"), ["updatedAt"] = DateTimeOffset.UtcNow.ToString("O") })]),
                };
            default:
                return null;
        }
    }

    private string NewId(string prefix) => $"{prefix}_{++_ids:D6}";

    /// <summary>Items sharing a word with the terms, best first (score: shared words / words in the terms).</summary>
    private static IEnumerable<(T Item, double Score)> Ranked<T>(IEnumerable<T> items, Func<T, string> text, string terms)
    {
        var words = Words(terms);
        return items.Select(i => (Item: i, Score: words.Count == 0 ? 0 : Words(text(i)).Intersect(words).Count() / (double)words.Count))
            .Where(r => r.Score > 0).OrderByDescending(r => r.Score).Take(20);
    }
}
