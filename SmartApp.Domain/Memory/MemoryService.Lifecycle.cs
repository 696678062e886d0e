using System.Text.RegularExpressions;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Identity;

namespace SmartApp.Domain.Memory;

/// <summary>Every memory of the user, whatever its kind: listed and deleted by filter, read with its history, expiring, summarised, rehydrated.</summary>
public sealed partial class MemoryService
{
    public const int DefaultPageSize = 50, MaxPageSize = 200, MaxMetadataEntries = 16, MaxMetadataValueLength = 256, MaxSummarizedMemories = 100,
        MaxInstructionsLength = 2000, MaxDeletedPerRequest = 1000;

    /// <summary>How far ahead a memory may be set to expire.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(3650);

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,64}$")]
    private static partial Regex MetadataName();

    /// <summary>Whether <paramref name="name"/> may name a metadata entry: 1–64 letters, digits, '_', '-' or '.'.</summary>
    public static bool IsMetadataName(string name) => MetadataName().IsMatch(name);

    public async Task<MemoryPage> ListAllAsync(CurrentUser user, MemoryFilter filter, string? cursor, int? limit, CancellationToken cancellationToken) =>
        await _store.ListAsync(user.UserId, Checked(filter), string.IsNullOrEmpty(cursor) ? null : cursor, PageLimit.Of(limit, DefaultPageSize, MaxPageSize), cancellationToken)
            .ConfigureAwait(false);

    /// <summary>
    /// Deletes the user's memories that pass the filter, at most <see cref="MaxDeletedPerRequest"/> a call (<c>More</c> says whether
    /// any are left). A filter is required: the account's deletion is the way to remove everything.
    /// </summary>
    public async Task<(int Deleted, bool More)> DeleteWhereAsync(CurrentUser user, MemoryFilter filter, CancellationToken cancellationToken)
    {
        if (filter.IsEmpty) throw new ValidationFailedException("filter", "Give at least one filter (kinds, timeline, origin, metadata, from, to); DELETE /api/account removes everything.");
        filter = Checked(filter);
        var deleted = 0;
        while (deleted < MaxDeletedPerRequest)
        {
            var page = await _store.ListAsync(user.UserId, filter, null, Math.Min(MaxPageSize, MaxDeletedPerRequest - deleted), cancellationToken).ConfigureAwait(false);
            if (page.Memories.Count == 0) break;
            foreach (var memory in page.Memories)
                if (await _store.DeleteAsync(user.UserId, memory.Id, cancellationToken).ConfigureAwait(false)) deleted++;
        }
        if (deleted > 0) Forget(user);
        var more = deleted >= MaxDeletedPerRequest && (await _store.ListAsync(user.UserId, filter, null, 1, cancellationToken).ConfigureAwait(false)).Memories.Count > 0;
        return (deleted, more);
    }

    /// <summary>A memory of any kind with what it said before each change (oldest first).</summary>
    public Task<MemoryEntry> GetAnyAsync(CurrentUser user, string memoryId, CancellationToken cancellationToken) => RequireAnyAsync(user, memoryId, cancellationToken);

    /// <summary>Deletes a memory of any kind; a fact's subject is then not learned again until the user states it.</summary>
    public async Task DeleteAnyAsync(CurrentUser user, string memoryId, CancellationToken cancellationToken)
    {
        var memory = await RequireAnyAsync(user, memoryId, cancellationToken).ConfigureAwait(false);
        if (memory.Origin is not null)
            await RecordForgottenAsync(user, memory, await EmbedAsync(memory.Content, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        if (!await _store.DeleteAsync(user.UserId, memoryId, cancellationToken).ConfigureAwait(false)) throw new NotFoundException("No such memory.");
        Forget(user);
    }

    public Task<MemorySettings> GetSettingsAsync(CurrentUser user, CancellationToken cancellationToken) => _store.GetSettingsAsync(user.UserId, cancellationToken);

    public async Task<MemorySettings> PutSettingsAsync(CurrentUser user, bool? learning, CancellationToken cancellationToken)
    {
        var settings = new MemorySettings(learning ?? throw new ValidationFailedException("learning", "'learning' is required: true or false."));
        await _store.PutSettingsAsync(user.UserId, settings, cancellationToken).ConfigureAwait(false);
        return settings;
    }

    /// <summary>A summary of the memories chosen, written as <paramref name="instructions"/> ask (the model's, or an extractive one when it is unavailable). Nothing is stored.</summary>
    public async Task<(string Summary, SummaryMethod Method)> SummarizeAsync(CurrentUser user, IReadOnlyList<string>? memoryIds, string? instructions, CancellationToken cancellationToken)
    {
        if (memoryIds is null || memoryIds.Count == 0) throw new ValidationFailedException("memoryIds", "'memoryIds' is required: the memories to summarise.");
        if (memoryIds.Count > MaxSummarizedMemories) throw new ValidationFailedException("memoryIds", $"At most {MaxSummarizedMemories} memories may be summarised at once.");
        instructions = OptionalInstructions(instructions);
        var memories = new List<MemoryEntry>();
        foreach (var id in memoryIds.Distinct(StringComparer.Ordinal))
            memories.Add((MemoryIds.IsMemoryId(id) ? await _store.FindAsync(user.UserId, id, cancellationToken).ConfigureAwait(false) : null)
                ?? throw new NotFoundException($"No such memory: '{Truncated(id)}'."));
        var embeddings = await _embedder.EmbedAsync(memories.Select(m => m.Content).ToList(), cancellationToken).ConfigureAwait(false);
        return await _summarizer.SummarizeAsync(memories.Select((m, i) => new NewMemory(m, embeddings[i])).ToList(), cancellationToken, instructions).ConfigureAwait(false);
    }

    /// <summary>
    /// A new working session holding a past session's memories (oldest first, at most <see cref="MemoryOptions.MaxSummaryEntries"/>),
    /// or with <paramref name="summaryOnly"/> its episodic summary as one memory.
    /// </summary>
    public async Task<(MemorySession Session, int Copied)> RehydrateAsync(CurrentUser user, string sessionId, bool summaryOnly, CancellationToken cancellationToken)
    {
        var past = await RequireSessionAsync(user, sessionId, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<NewMemory> memories;
        if (summaryOnly)
        {
            var summary = past.EpisodicMemoryId is { } id ? await _store.FindAsync(user.UserId, id, cancellationToken).ConfigureAwait(false) : null;
            if (summary is null) throw new ConflictException("The session has no summary: end it with flush, or rehydrate its memories.");
            memories = [new NewMemory(summary with { Timeline = DefaultTimeline }, await EmbedAsync(summary.Content, cancellationToken).ConfigureAwait(false))];
        }
        else
        {
            memories = await _store.ReadSessionForSummaryAsync(user.UserId, sessionId, _options.Value.MaxSummaryEntries, cancellationToken).ConfigureAwait(false);
        }
        var session = await StartSessionAsync(user, cancellationToken).ConfigureAwait(false);
        var now = _clock.GetUtcNow();
        foreach (var memory in memories)
        {
            var e = memory.Entry;
            var timeline = e.Timeline ?? DefaultTimeline;
            var copy = new MemoryEntry(MemoryIds.ForWorking(session.Id, timeline, e.Key, e.Content), MemoryKind.Working, e.Content, now)
            {
                SessionId = session.Id, Timeline = timeline, Key = e.Key, Agent = e.Agent, Metadata = e.Metadata, ExpiresAt = e.ExpiresAt,
            };
            var kept = await EnsureRoomAsync(user, cancellationToken).ConfigureAwait(false);
            await _store.PutAsync(user.UserId, new NewMemory(copy, memory.Embedding), cancellationToken).ConfigureAwait(false);
            kept.Added();
        }
        return (session, memories.Count);
    }

    private async Task<MemoryEntry> RequireAnyAsync(CurrentUser user, string memoryId, CancellationToken cancellationToken) =>
        (MemoryIds.IsMemoryId(memoryId) ? await _store.FindAsync(user.UserId, memoryId, cancellationToken).ConfigureAwait(false) : null)
        ?? throw new NotFoundException("No such memory.");

    private MemoryFilter Checked(MemoryFilter filter)
    {
        RequireMetadata(filter.Metadata, "metadata");
        return filter with { Timeline = OptionalName(filter.Timeline, "timeline") };
    }

    /// <summary>An expiry must be ahead, and at most <see cref="MaxLifetime"/> ahead.</summary>
    private void RequireFutureExpiry(DateTimeOffset? expiresAt)
    {
        if (expiresAt is not { } at) return;
        var now = _clock.GetUtcNow();
        if (at <= now) throw new ValidationFailedException("expiresAt", "'expiresAt' must be in the future.");
        if (at - now > MaxLifetime) throw new ValidationFailedException("expiresAt", $"'expiresAt' may be at most {MaxLifetime.TotalDays:0} days ahead.");
    }

    private static void RequireMetadata(IReadOnlyDictionary<string, string>? metadata, string field = "metadata")
    {
        if (metadata is null) return;
        if (metadata.Count > MaxMetadataEntries) throw new ValidationFailedException(field, $"'{field}' may have at most {MaxMetadataEntries} entries.");
        foreach (var (name, value) in metadata)
        {
            if (!IsMetadataName(name)) throw new ValidationFailedException(field, $"'{field}' names must be 1-64 letters, digits, '_', '-' or '.'; '{Truncated(name)}' is not.");
            if (value is null || value.Length > MaxMetadataValueLength || value.Any(char.IsControl))
                throw new ValidationFailedException(field, $"'{field}.{name}' must be a string of at most {MaxMetadataValueLength} characters without control characters.");
        }
    }

    private static string? OptionalInstructions(string? instructions)
    {
        if (string.IsNullOrWhiteSpace(instructions)) return null;
        instructions = instructions.Trim();
        return instructions.Length > MaxInstructionsLength
            ? throw new ValidationFailedException("instructions", $"'instructions' may be at most {MaxInstructionsLength} characters.")
            : instructions;
    }

    private static string Truncated(string text) => text.Length > 80 ? text[..80] + "…" : text;
}
