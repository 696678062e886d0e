using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Raindrop;
using SmartApp.Domain.Memory.Adapters.Cosmos;

namespace SmartApp.Domain.Memory.Adapters.Raindrop;

/// <summary>
/// Memory search on SmartMemory while Raindrop has all of the user's memory (the mirror has drained
/// past their last write) and answers within <see cref="RaindropOptions.ReadTimeout"/>: search_memory
/// within a session, search_semantic_memory, search_procedures in the user's procedural memory and
/// search_episodic_memory. Working memory across sessions has no SmartMemory search, so that part is
/// answered locally and the two lists are fused by rank. Raindrop's results are mapped back to ours
/// through the mirror's ledger, only the user's own are kept, and each is read back from Cosmos, so a
/// result is never another user's, nor stale. Otherwise (down, slow, behind, circuit open, nothing
/// found) the local hybrid search answers on its own.
/// </summary>
public sealed partial class RaindropMemorySearch(
    CosmosMemorySearch local, RaindropSmartMemory memory, IMemoryStore store, MirrorLedger ledger, MirrorFreshness freshness,
    IOptions<RaindropOptions> options, ILogger<RaindropMemorySearch> logger) : IMemorySearch
{
    /// <summary>Reciprocal-rank fusion constant: the usual 60.</summary>
    private const double FusionK = 60;

    public async Task<IReadOnlyList<MemorySearchHit>> SearchAsync(string userId, MemorySearchQuery query, CancellationToken cancellationToken)
    {
        var onRaindrop = query.Kinds.Where(k => k != MemoryKind.Working || query.SessionId is not null).ToHashSet();
        if (onRaindrop.Count == 0) return await local.SearchAsync(userId, query, cancellationToken).ConfigureAwait(false);
        List<MemorySearchHit> found;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.Value.ReadTimeout);
            var lastWrite = await store.LastWrittenAtAsync(userId, timeout.Token).ConfigureAwait(false);
            if (!await freshness.HasAllWrittenBeforeAsync(RaindropSmartMemory.Area, lastWrite, timeout.Token).ConfigureAwait(false))
                return await local.SearchAsync(userId, query, cancellationToken).ConfigureAwait(false);
            found = await SearchRaindropAsync(userId, query, onRaindrop, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RaindropException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogFallback(logger, ex.Message);
            return await local.SearchAsync(userId, query, cancellationToken).ConfigureAwait(false);
        }
        if (found.Count == 0) return await local.SearchAsync(userId, query, cancellationToken).ConfigureAwait(false);
        if (onRaindrop.Count == query.Kinds.Count) return found;

        // Working memory across sessions comes from the local search; both lists are fused by rank.
        var workingOnly = await local.SearchAsync(userId, query with { Kinds = new HashSet<MemoryKind> { MemoryKind.Working } }, cancellationToken).ConfigureAwait(false);
        return found.Select((h, rank) => h with { Score = 1 / (FusionK + rank + 1) })
            .Concat(workingOnly.Select((h, rank) => h with { Score = 1 / (FusionK + rank + 1) }))
            .OrderByDescending(h => h.Score)
            .Take(query.Limit)
            .ToList();
    }

    private async Task<List<MemorySearchHit>> SearchRaindropAsync(string userId, MemorySearchQuery query, IReadOnlySet<MemoryKind> kinds, CancellationToken cancellationToken)
    {
        var perKind = await Task.WhenAll(kinds.Select(kind => kind switch
        {
            MemoryKind.Working => WorkingAsync(userId, query, cancellationToken),
            MemoryKind.Semantic => SemanticAsync(userId, query, cancellationToken),
            MemoryKind.Procedural => ProceduresAsync(userId, query, cancellationToken),
            _ => EpisodicAsync(userId, query, cancellationToken),
        })).ConfigureAwait(false);

        // Raindrop's score where it gives one, else its rank; the best per memory; then read back as it is now.
        var candidates = perKind.SelectMany(list => list.Select((c, rank) => (c.Id, Score: c.Score ?? 1.0 / (rank + 2))))
            .GroupBy(c => c.Id, StringComparer.Ordinal).Select(g => (Id: g.Key, Score: g.Max(c => c.Score)))
            .ToList();
        var current = await Task.WhenAll(candidates.Select(c => store.FindAsync(userId, c.Id, cancellationToken))).ConfigureAwait(false);
        return candidates.Zip(current)
            .Where(pair => pair.Second is { } entry && Matches(entry, query))
            .Select(pair => new MemorySearchHit(pair.Second!, pair.First.Score) { Provider = Providers.Raindrop })
            .OrderByDescending(h => h.Score)
            .Take(query.Limit)
            .ToList();
    }

    private async Task<IEnumerable<Candidate>> WorkingAsync(string userId, MemorySearchQuery query, CancellationToken cancellationToken)
    {
        if (await ledger.FindAsync(RaindropSmartMemory.Area, MemoryMirror.LedgerId(userId, query.SessionId!), cancellationToken).ConfigureAwait(false) is not { } session) return [];
        var memories = await memory.SearchMemoryAsync(session.RaindropId, query.Terms, query.Timeline, query.Limit * 2, cancellationToken).ConfigureAwait(false);
        return await OursAsync(userId, memories.Select(m => (m.Id, (double?)null)), cancellationToken).ConfigureAwait(false);
    }

    private async Task<IEnumerable<Candidate>> SemanticAsync(string userId, MemorySearchQuery query, CancellationToken cancellationToken)
    {
        var results = await memory.SearchSemanticAsync(query.Terms, cancellationToken).ConfigureAwait(false);
        return await OursAsync(userId, results.Select(r => (r.Source, r.Score)), cancellationToken).ConfigureAwait(false);
    }

    private async Task<IEnumerable<Candidate>> ProceduresAsync(string userId, MemorySearchQuery query, CancellationToken cancellationToken)
    {
        // The user's own procedural memory: every result is theirs.
        var procedures = await memory.SearchProceduresAsync(RaindropSmartMemory.ProceduralMemoryOf(userId), query.Terms, query.Limit * 2, cancellationToken).ConfigureAwait(false);
        return procedures.Where(p => !string.IsNullOrEmpty(p.Key)).Select(p => new Candidate(MemoryIds.ForProcedure(p.Key!), null));
    }

    private async Task<IEnumerable<Candidate>> EpisodicAsync(string userId, MemorySearchQuery query, CancellationToken cancellationToken)
    {
        var entries = await memory.SearchEpisodicAsync(query.Terms, query.Limit * 4, cancellationToken).ConfigureAwait(false);
        var sessions = await OursAsync(userId, entries.Select(e => (e.SessionId, e.Score)), cancellationToken).ConfigureAwait(false);
        return sessions.Select(s => s with { Id = MemoryIds.ForEpisodic(s.Id) });
    }

    /// <summary>Raindrop ids mapped back to the user's own item ids; anything mirrored for another user, or not mirrored now, is dropped.</summary>
    private async Task<IEnumerable<Candidate>> OursAsync(string userId, IEnumerable<(string? RaindropId, double? Score)> results, CancellationToken cancellationToken)
    {
        var list = results.Where(r => !string.IsNullOrEmpty(r.RaindropId)).ToList();
        var items = await Task.WhenAll(list.Select(r => ledger.FindByRaindropIdAsync(RaindropSmartMemory.Area, r.RaindropId!, cancellationToken))).ConfigureAwait(false);
        var prefix = MemoryMirror.LedgerId(userId, "");
        return list.Zip(items)
            .Where(pair => pair.Second is { } item && item.UserId == userId && item.ItemId.StartsWith(prefix, StringComparison.Ordinal))
            .Select(pair => new Candidate(pair.Second!.ItemId[prefix.Length..], pair.First.Score));
    }

    private static bool Matches(MemoryEntry memory, MemorySearchQuery query) =>
        query.Matches(memory.Kind, memory.SessionId, memory.Timeline, memory.At);

    private sealed record Candidate(string Id, double? Score);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Raindrop memory search did not answer ({Error}); answered locally")]
    private static partial void LogFallback(ILogger logger, string error);
}
