using System.Security.Cryptography;
using System.Text;
using SmartApp.Domain.Common;

namespace SmartApp.Domain.Memory;

/// <summary>
/// Memory ids: a prefix for what the id names and 32 hex digits. Repeats of a working memory, a
/// procedure's key and a session's summary have fixed ids, so writing them again never stores a copy.
/// </summary>
public static class MemoryIds
{
    public const string Session = "ses", Working = "mem", Episodic = "epi", Semantic = "doc", Procedural = "proc", Fact = "fct", Forgotten = "fgt";

    /// <summary>Every prefix a memory's id may have.</summary>
    public static readonly IReadOnlyList<string> MemoryPrefixes = [Working, Episodic, Semantic, Procedural, Fact];

    public static string NewSession() => Ids.New(Session);

    public static string NewDocument() => Ids.New(Semantic);

    public static string ForWorking(string sessionId, string timeline, string? key, string content) =>
        $"{Working}_{Hash(sessionId, timeline, key ?? "", content)}";

    public static string ForEpisodic(string sessionId) => $"{Episodic}_{Hash(sessionId)}";

    public static string ForProcedure(string key) => $"{Procedural}_{Hash(key)}";

    public static string NewFact() => Ids.New(Fact);

    /// <summary>A fact learned from a message: learning from the same message again finds the same id.</summary>
    public static string ForLearnedFact(string messageId, string content) => $"{Fact}_{Hash(messageId, content.Trim().ToLowerInvariant())}";

    /// <summary>A forgotten subject: by topic when it has one, else by its words.</summary>
    public static string ForForgotten(string? topic, string content) => $"{Forgotten}_{Hash(topic?.Trim().ToLowerInvariant() ?? "", topic is null ? content.Trim().ToLowerInvariant() : "")}";

    /// <summary>Whether <paramref name="id"/> has the shape of a memory's id, of any kind.</summary>
    public static bool IsMemoryId(string? id) => MemoryPrefixes.Any(prefix => IsWellFormed(id, prefix));

    /// <summary>Whether <paramref name="id"/> has the shape of an id with <paramref name="prefix"/> (anything else cannot exist).</summary>
    public static bool IsWellFormed(string? id, string prefix) => Ids.IsWellFormed(id, prefix);

    private static string Hash(params string[] parts) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\0', parts))))[..32];
}
