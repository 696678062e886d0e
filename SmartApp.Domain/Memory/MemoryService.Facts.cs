using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Search;
using SmartApp.Domain.Identity;

namespace SmartApp.Domain.Memory;

/// <summary>
/// Facts about the user (semantic memories with an <see cref="MemoryEntry.Origin"/>): stated by the user, learned from
/// conversations, revised when a newer fact on the same subject arrives (the old wording kept in the history), and
/// forgotten on request, after which the subject is not learned again until the user states it.
/// </summary>
public sealed partial class MemoryService
{
    public const int MaxHistoryVersions = 20, MaxForgottenSubjects = 200, MaxAboutLength = 500;

    /// <summary>
    /// Which facts "forget …" removes: those at least this close in meaning to what was said (MiniLM cosine; "where I live" is
    /// 0.32 from "Lives in Porto" and 0.14 from "Likes green tea"), and within <see cref="ForgetMargin"/> of the closest.
    /// </summary>
    internal const double ForgetMinimumSimilarity = 0.25, ForgetMargin = 0.08;

    /// <summary>
    /// A learned fact this close to a forgotten one is the same fact again ("I live in Porto" is 0.81 from "Lives in Porto";
    /// "Visited Porto last week" is 0.71, a different fact).
    /// </summary>
    internal const double SameFactSimilarity = 0.8;

    /// <summary>A fact the user states ("remember that …"): it replaces their fact on the same topic, and lifts any forgetting of its subject.</summary>
    public async Task<MemoryEntry> RememberFactAsync(CurrentUser user, string? content, string? topic, DateTimeOffset? expiresAt, IReadOnlyDictionary<string, string>? metadata,
        MemorySource? source, CancellationToken cancellationToken)
    {
        RequireContent(content, "content");
        content = content!.Trim();
        topic = OptionalName(topic, "topic");
        RequireFutureExpiry(expiresAt);
        RequireMetadata(metadata);
        await LiftForgettingAsync(user, topic, await EmbedAsync(content, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        if (topic is not null && (await FindFactsAsync(user, $"{topic}: {content}", 5, cancellationToken).ConfigureAwait(false)).FirstOrDefault(f => SameTopic(f.Topic, topic)) is { } sameTopic
            && await ReviseFactAsync(user, sameTopic.Id, content, topic, source, FactOrigin.Stated, cancellationToken).ConfigureAwait(false) is { } revised)
            return revised;
        var embedding = await FactEmbeddingAsync(content, topic, cancellationToken).ConfigureAwait(false);
        var kept = await EnsureRoomAsync(user, cancellationToken).ConfigureAwait(false);
        var entry = new MemoryEntry(MemoryIds.NewFact(), MemoryKind.Semantic, content, _clock.GetUtcNow())
        {
            Origin = FactOrigin.Stated, Topic = topic, Source = source, ExpiresAt = expiresAt, Metadata = metadata,
        };
        await _store.PutAsync(user.UserId, new NewMemory(entry, embedding), cancellationToken).ConfigureAwait(false);
        kept.Added();
        return entry;
    }

    /// <summary>
    /// "Forget …": removes the user's facts closest in meaning to <paramref name="about"/> (none when nothing is close enough) and
    /// records each one's subject, so it is not learned again from a later mention.
    /// </summary>
    public async Task<IReadOnlyList<MemoryEntry>> ForgetAsync(CurrentUser user, string? about, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(about)) throw new ValidationFailedException("about", "'about' is required: what to forget, such as \"where I live\".");
        about = about.Trim();
        if (about.Length > MaxAboutLength) throw new ValidationFailedException("about", $"'about' may be at most {MaxAboutLength} characters.");
        var facts = await FindFactsAsync(user, about, 10, cancellationToken).ConfigureAwait(false);
        if (facts.Count == 0) return [];
        var embeddings = await _embedder.EmbedAsync([about, .. facts.Select(f => f.Content)], cancellationToken).ConfigureAwait(false);
        var scored = facts.Select((fact, i) => (Fact: fact, Embedding: embeddings[i + 1], Score: Vectors.Cosine(embeddings[0], embeddings[i + 1])))
            .Where(x => x.Score >= ForgetMinimumSimilarity).ToList();
        if (scored.Count == 0) return [];
        var best = scored.Max(x => x.Score);
        var forgotten = new List<MemoryEntry>();
        foreach (var (fact, embedding, _) in scored.Where(x => x.Score >= best - ForgetMargin))
        {
            await RecordForgottenAsync(user, fact, embedding, cancellationToken).ConfigureAwait(false);
            if (await _store.DeleteAsync(user.UserId, fact.Id, cancellationToken).ConfigureAwait(false)) forgotten.Add(fact);
        }
        if (forgotten.Count > 0) Forget(user);
        return forgotten;
    }

    /// <summary>A fact learned from a message; learning from the same message again finds it and changes nothing.</summary>
    internal async Task<MemoryEntry> LearnFactAsync(CurrentUser user, string content, string? topic, MemorySource source, CancellationToken cancellationToken)
    {
        var entry = new MemoryEntry(MemoryIds.ForLearnedFact(source.MessageId ?? "", content), MemoryKind.Semantic, content, _clock.GetUtcNow())
        {
            Origin = FactOrigin.Learned, Topic = topic, Source = source,
        };
        if (await _store.FindAsync(user.UserId, entry.Id, cancellationToken).ConfigureAwait(false) is { } existing) return existing;
        var embedding = FactEmbeddingAsync(content, topic, cancellationToken);
        var kept = await EnsureRoomAsync(user, cancellationToken).ConfigureAwait(false);
        await _store.PutAsync(user.UserId, new NewMemory(entry, await embedding.ConfigureAwait(false)), cancellationToken).ConfigureAwait(false);
        kept.Added();
        return entry;
    }

    /// <summary>
    /// Gives a fact new words, keeping what it said before in its history. Nothing changes when it already says this from this
    /// message (a retry), or when its current words come from a later message than <paramref name="source"/> (learning ran out of order).
    /// Null when the fact is gone.
    /// </summary>
    internal async Task<MemoryEntry?> ReviseFactAsync(CurrentUser user, string factId, string content, string? topic, MemorySource? source, FactOrigin origin,
        CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow();
        topic ??= (await _store.FindAsync(user.UserId, factId, cancellationToken).ConfigureAwait(false))?.Topic;
        var embedding = await FactEmbeddingAsync(content, topic, cancellationToken).ConfigureAwait(false);
        return await _store.UpdateAsync(user.UserId, factId, current =>
        {
            if (current.Origin is null) return null; // not a fact: the client's own memories are not rewritten
            if (source?.MessageId is not null && current.Source?.MessageId == source.MessageId) return null;
            if (source?.At is { } said && current.Source?.At is { } currentSaid && currentSaid > said) return null;
            if (current.Content == content && current.Topic == (topic ?? current.Topic)) return null;
            var version = new MemoryVersion(current.Content, current.UpdatedAt ?? current.At, now, current.Source);
            var history = (current.History ?? []).Append(version).TakeLast(MaxHistoryVersions).ToList();
            return new NewMemory(current with { Content = content, Topic = topic ?? current.Topic, Source = source ?? current.Source, Origin = origin, UpdatedAt = now, History = history },
                embedding);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes a fact the model found no longer true (not a request of the user's: the subject may be learned again).</summary>
    internal async Task<bool> DropFactAsync(CurrentUser user, string factId, CancellationToken cancellationToken)
    {
        var dropped = await _store.DeleteAsync(user.UserId, factId, cancellationToken).ConfigureAwait(false);
        if (dropped) Forget(user);
        return dropped;
    }

    /// <summary>The user's facts nearest to <paramref name="terms"/> by the hybrid search (other semantic memories are the client's, and left out).</summary>
    internal async Task<IReadOnlyList<MemoryEntry>> FindFactsAsync(CurrentUser user, string terms, int limit, CancellationToken cancellationToken)
    {
        var hits = await _search.SearchAsync(user.UserId, new MemorySearchQuery(terms, new HashSet<MemoryKind> { MemoryKind.Semantic }, limit * 2), cancellationToken).ConfigureAwait(false);
        return hits.Select(h => h.Memory).Where(m => m.Origin is not null).Take(limit).ToList();
    }

    /// <summary>
    /// What a fact is searched by: its topic and its words ("employer: Works at Contoso"), so a question about the subject ("who is my
    /// employer?") and a later fact on it find the fact even when they share no words with it.
    /// </summary>
    private Task<float[]> FactEmbeddingAsync(string content, string? topic, CancellationToken cancellationToken) =>
        EmbedAsync(topic is null ? content : $"{topic}: {content}", cancellationToken);

    /// <summary>Whether a fact is on a subject the user asked to forget: the same topic, or nearly the same words.</summary>
    internal static bool IsForgotten(string? topic, float[] embedding, IReadOnlyList<ForgottenSubject> forgotten) =>
        forgotten.Any(f => (topic is not null && SameTopic(f.Topic, topic)) || (f.Embedding.Length == embedding.Length && Vectors.Cosine(f.Embedding, embedding) >= SameFactSimilarity));

    internal static bool SameTopic(string? a, string? b) => a is not null && b is not null && string.Equals(a.Trim(), b.Trim(), StringComparison.OrdinalIgnoreCase);

    private async Task RecordForgottenAsync(CurrentUser user, MemoryEntry fact, float[] embedding, CancellationToken cancellationToken) =>
        await _store.PutForgottenAsync(user.UserId, new ForgottenSubject(MemoryIds.ForForgotten(fact.Topic, fact.Content), fact.Content, fact.Topic, embedding, _clock.GetUtcNow()),
            cancellationToken).ConfigureAwait(false);

    private async Task LiftForgettingAsync(CurrentUser user, string? topic, float[] embedding, CancellationToken cancellationToken)
    {
        var forgotten = await _store.ListForgottenAsync(user.UserId, MaxForgottenSubjects, cancellationToken).ConfigureAwait(false);
        foreach (var subject in forgotten.Where(f => IsForgotten(topic, embedding, [f])))
            await _store.RemoveForgottenAsync(user.UserId, subject.Id, cancellationToken).ConfigureAwait(false);
    }
}
