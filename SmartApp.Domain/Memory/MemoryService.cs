using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Quotas;
using SmartApp.Domain.Common.Search;
using SmartApp.Domain.Common.Telemetry;
using SmartApp.Domain.Identity;

namespace SmartApp.Domain.Memory;

/// <summary>
/// The four kinds of memory for the signed-in user: working memory in sessions, episodic summaries of
/// ended sessions, semantic documents and procedures, and search across them.
/// </summary>
public sealed partial class MemoryService
{
    public const string DefaultTimeline = "default";
    public const int DefaultListCount = 100, MaxListCount = 1000, DefaultSearchLimit = 10, MaxSearchLimit = 100, MaxNameLength = 256;

    private readonly IMemoryStore _store;
    private readonly IMemorySearch _search;
    private readonly IEmbedder _embedder;
    private readonly SessionSummarizer _summarizer;
    private readonly IOptions<MemoryOptions> _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<MemoryService> _logger;
    private readonly IMemoryCache _cache;
    private readonly KeptTotals _kept;
    private readonly SpaceAccess _spaces;

    public MemoryService(IMemoryStore store, IMemorySearch search, IEmbedder embedder, SessionSummarizer summarizer, KeptTotals kept, SpaceAccess spaces,
        IOptions<MemoryOptions> options, TimeProvider clock, IMemoryCache cache, ILogger<MemoryService> logger)
    {
        (_store, _search, _embedder, _summarizer, _kept, _spaces, _options, _clock, _cache, _logger) = (store, search, embedder, summarizer, kept, spaces, options, clock, cache, logger);
        // The first memory request of this instance starts loading the embedding model, so the
        // write or search that needs it next finds it loaded or nearly so.
        (embedder as MiniLmEmbedder)?.Warm();
    }

    // ---- Working memory -------------------------------------------------------------------

    public async Task<MemorySession> StartSessionAsync(CurrentUser user, CancellationToken cancellationToken)
    {
        var session = new MemorySession(MemoryIds.NewSession(), _clock.GetUtcNow());
        await _store.CreateSessionAsync(user.UserId, session, cancellationToken).ConfigureAwait(false);
        return session;
    }

    /// <summary>
    /// Ends the session; with <paramref name="flush"/> its memories are summarised into one episodic
    /// memory. Ending an ended session again answers what the first end did.
    /// </summary>
    public async Task<SessionEnded> EndSessionAsync(CurrentUser user, string sessionId, bool flush, CancellationToken cancellationToken, string? instructions = null)
    {
        instructions = OptionalInstructions(instructions);
        var session = await RequireSessionAsync(user, sessionId, cancellationToken).ConfigureAwait(false);
        while (session.EndedAt is null)
        {
            var now = _clock.GetUtcNow();
            MemoryEntry? episodic = null;
            if (flush)
                episodic = await SummarizeSessionAsync(user.UserId, session, now, instructions, cancellationToken).ConfigureAwait(false);
            var ended = session with { EndedAt = now, EpisodicMemoryId = episodic?.Id, SummarizedBy = episodic?.SummarizedBy };
            if (await _store.TryEndSessionAsync(user.UserId, ended, cancellationToken).ConfigureAwait(false))
            {
                _cache.Remove(OpenSessionKey(user.UserId, sessionId));
                LogSessionEnded(_logger, sessionId, episodic?.SummarizedBy?.ToString() ?? "none", episodic?.EntryCount ?? 0);
                return new SessionEnded(ended, episodic);
            }
            session = await RequireSessionAsync(user, sessionId, cancellationToken).ConfigureAwait(false);
        }
        var written = session.EpisodicMemoryId is { } id ? await _store.FindAsync(user.UserId, id, cancellationToken).ConfigureAwait(false) : null;
        return new SessionEnded(session, written);
    }

    private async Task<MemoryEntry?> SummarizeSessionAsync(string userId, MemorySession session, DateTimeOffset now, string? instructions, CancellationToken cancellationToken)
    {
        var memories = await _store.ReadSessionForSummaryAsync(userId, session.Id, _options.Value.MaxSummaryEntries, cancellationToken).ConfigureAwait(false);
        if (memories.Count == 0) return null;
        var (summary, method) = await _summarizer.SummarizeAsync(memories, cancellationToken, instructions).ConfigureAwait(false);
        var entries = memories.Select(m => m.Entry).ToList();
        var episodic = new MemoryEntry(MemoryIds.ForEpisodic(session.Id), MemoryKind.Episodic, summary, now)
        {
            SessionId = session.Id,
            Agent = entries.Where(e => e.Agent is not null).GroupBy(e => e.Agent).OrderByDescending(g => g.Count()).Select(g => g.Key).FirstOrDefault(),
            SummarizedBy = method,
            EntryCount = entries.Count,
            TimelineCount = entries.Select(e => e.Timeline).Distinct().Count(),
            DurationMs = (long)(entries.Max(e => e.At) - session.StartedAt).TotalMilliseconds,
        };
        // A fixed id per session: a retried end rewrites the same summary instead of adding another.
        await _store.UpsertAsync(userId, new NewMemory(episodic, await EmbedAsync(summary, cancellationToken).ConfigureAwait(false)), cancellationToken).ConfigureAwait(false);
        SmartAppTelemetry.SessionsSummarized.Add(1, new KeyValuePair<string, object?>("method", EnumNames.Of(method)));
        return episodic;
    }

    /// <summary>Adds a memory to an open session. An exact repeat (same content, timeline and key) returns the id it already has.</summary>
    public async Task<string> PutAsync(CurrentUser user, string sessionId, string? content, string? timeline, string? key, string? agent, CancellationToken cancellationToken,
        DateTimeOffset? expiresAt = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        RequireContent(content, "content");
        RequireFutureExpiry(expiresAt);
        RequireMetadata(metadata);
        timeline = OptionalName(timeline, "timeline") ?? DefaultTimeline;
        key = OptionalName(key, "key");
        agent = OptionalName(agent, "agent");

        // The session check, the plan's limit and the embedding run side by side; all are needed before the write.
        var embedding = EmbedAsync(content!, cancellationToken);
        var room = EnsureRoomAsync(user, cancellationToken);
        await RequireOpenSessionAsync(user, sessionId, cancellationToken).ConfigureAwait(false);
        var kept = await room.ConfigureAwait(false);
        var entry = new MemoryEntry(MemoryIds.ForWorking(sessionId, timeline, key, content!), MemoryKind.Working, content!, _clock.GetUtcNow())
        {
            SessionId = sessionId,
            Timeline = timeline,
            Key = key,
            Agent = agent,
            ExpiresAt = expiresAt,
            Metadata = metadata,
        };
        await _store.PutAsync(user.UserId, new NewMemory(entry, await embedding.ConfigureAwait(false)), cancellationToken).ConfigureAwait(false);
        kept.Added();
        return entry.Id;
    }

    public async Task<IReadOnlyList<MemoryEntry>> ListAsync(CurrentUser user, string sessionId, string? timeline, string? key, int? last, TimeRange range, CancellationToken cancellationToken)
    {
        var count = last ?? DefaultListCount;
        if (count is < 1 or > MaxListCount)
            throw new ValidationFailedException("last", $"'last' must be between 1 and {MaxListCount}.");
        await RequireSessionAsync(user, sessionId, cancellationToken).ConfigureAwait(false);
        return await _store.ListSessionAsync(user.UserId, sessionId,
            new MemoryListQuery(OptionalName(timeline, "timeline"), OptionalName(key, "key"), count, range.From, range.To), cancellationToken).ConfigureAwait(false);
    }

    public async Task DeleteMemoryAsync(CurrentUser user, string sessionId, string memoryId, CancellationToken cancellationToken)
    {
        await RequireSessionAsync(user, sessionId, cancellationToken).ConfigureAwait(false);
        var memory = MemoryIds.IsWellFormed(memoryId, MemoryIds.Working) ? await _store.FindAsync(user.UserId, memoryId, cancellationToken).ConfigureAwait(false) : null;
        if (memory is null || memory.SessionId != sessionId || !await _store.DeleteAsync(user.UserId, memoryId, cancellationToken).ConfigureAwait(false))
            throw new NotFoundException("No such memory in this session.");
        Forget(user);
    }

    // ---- Search -----------------------------------------------------------------------------

    public async Task<IReadOnlyList<MemorySearchHit>> SearchAsync(CurrentUser user, string? terms, IReadOnlyList<string>? kinds, string? sessionId,
        string? timeline, int? limit, TimeRange range, CancellationToken cancellationToken, string? exceptTimeline = null)
    {
        if (string.IsNullOrWhiteSpace(terms))
            throw new ValidationFailedException("terms", "'terms' is required: the words or question to search for.");
        if (Encoding.UTF8.GetByteCount(terms) > _options.Value.MaxContentBytes)
            throw new ValidationFailedException("terms", $"'terms' may be at most {_options.Value.MaxContentBytes} bytes.");
        var count = PageLimit.Of(limit, DefaultSearchLimit, MaxSearchLimit);
        var kindSet = ParseKinds(kinds);
        if (sessionId is not null)
            await RequireSessionAsync(user, sessionId, cancellationToken).ConfigureAwait(false);

        var query = new MemorySearchQuery(terms.Trim(), kindSet, count)
        {
            SessionId = sessionId,
            Timeline = OptionalName(timeline, "timeline"),
            ExceptTimeline = exceptTimeline,
            From = range.From,
            To = range.To,
        };
        // The organization's space holds only documents and procedures, none in a session or on a timeline: it is searched
        // beside the user's own when the query could match one there. Both are ranked alike, so their scores compare.
        var shared = _spaces.Readable(user).Where(s => s.Kind == SpaceKind.Org).ToList();
        if (sessionId is not null || query.Timeline is not null || !kindSet.Overlaps(SharedKinds)) shared.Clear();
        var searches = shared.Select(s => (Space: s, Query: query with { Kinds = kindSet.Intersect(SharedKinds).ToHashSet() }))
            .Prepend((Space: Space.PersonalOf(user), Query: query));
        var found = await Task.WhenAll(searches.Select(async s =>
            (await _search.SearchAsync(s.Space.OwnerId, s.Query, cancellationToken).ConfigureAwait(false))
                .Select(hit => hit with { Memory = hit.Memory with { Space = s.Space.Kind } }))).ConfigureAwait(false);
        return SpaceAccess.BestOf(found, hit => hit.Score, count);
    }

    /// <summary>The kinds of memory an organization's space may hold: documents (semantic) and procedures.</summary>
    private static readonly HashSet<MemoryKind> SharedKinds = [MemoryKind.Semantic, MemoryKind.Procedural];

    /// <summary>Kind names as the API spells them; none means every kind.</summary>
    public static IReadOnlySet<MemoryKind> ParseKinds(IReadOnlyList<string>? kinds)
    {
        if (kinds is null || kinds.Count == 0) return Enum.GetValues<MemoryKind>().ToHashSet();
        var parsed = new HashSet<MemoryKind>();
        foreach (var name in kinds)
        {
            if (!EnumNames.TryParse<MemoryKind>(name, out var kind))
                throw new ValidationFailedException("kinds", $"Unknown memory kind '{name}'; use working, episodic, semantic or procedural.");
            parsed.Add(kind);
        }
        return parsed;
    }

    // ---- Semantic memory --------------------------------------------------------------------

    /// <summary>A JSON document remembered in the user's own space, or (<paramref name="space"/> <c>org</c>, <c>memory:write</c>) the organization's.</summary>
    public async Task<string> PutDocumentAsync(CurrentUser user, JsonElement document, CancellationToken cancellationToken,
        DateTimeOffset? expiresAt = null, IReadOnlyDictionary<string, string>? metadata = null, string? space = null)
    {
        var owner = _spaces.Writable(user, space, OrganizationPermissions.MemoryWrite).OwnerId;
        RequireFutureExpiry(expiresAt);
        RequireMetadata(metadata);
        if (document.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            throw new ValidationFailedException("document", "'document' is required: any JSON value other than null.");
        var json = document.GetRawText();
        if (Encoding.UTF8.GetByteCount(json) > _options.Value.MaxDocumentBytes)
            throw new ValidationFailedException("document", $"'document' may be at most {_options.Value.MaxDocumentBytes} bytes of JSON.");
        var text = DocumentText.Of(document);
        if (text.Length == 0)
            throw new ValidationFailedException("document", "'document' holds no text to remember.");
        var entry = new MemoryEntry(MemoryIds.NewDocument(), MemoryKind.Semantic, text, _clock.GetUtcNow())
        {
            Document = document.Clone(), ExpiresAt = expiresAt, Metadata = metadata,
        };
        var embedding = EmbedAsync(text, cancellationToken);
        var kept = await EnsureRoomAsync(owner, cancellationToken).ConfigureAwait(false);
        await _store.PutAsync(owner, new NewMemory(entry, await embedding.ConfigureAwait(false)), cancellationToken).ConfigureAwait(false);
        kept.Added();
        return entry.Id;
    }

    /// <summary>A document of the user's own space or their organization's (ids are unique across spaces).</summary>
    public async Task<MemoryEntry> GetDocumentAsync(CurrentUser user, string documentId, CancellationToken cancellationToken) =>
        (await FindDocumentAsync(user, documentId, cancellationToken).ConfigureAwait(false)).Document;

    public async Task DeleteDocumentAsync(CurrentUser user, string documentId, CancellationToken cancellationToken)
    {
        var (space, _) = await FindDocumentAsync(user, documentId, cancellationToken).ConfigureAwait(false);
        _spaces.EnsureMayWrite(user, space, OrganizationPermissions.MemoryWrite);
        if (!await _store.DeleteAsync(space.OwnerId, documentId, cancellationToken).ConfigureAwait(false))
            throw new NotFoundException("No such document.");
        Forget(space.OwnerId);
    }

    private async Task<(Space Space, MemoryEntry Document)> FindDocumentAsync(CurrentUser user, string documentId, CancellationToken cancellationToken) =>
        (MemoryIds.IsWellFormed(documentId, MemoryIds.Semantic) ? await _spaces.FindAsync(user, s => _store.FindAsync(s.OwnerId, documentId, cancellationToken)).ConfigureAwait(false) : null)
            is { } found ? (found.Space, found.Item with { Space = found.Space.Kind }) : throw new NotFoundException("No such document.");

    // ---- Procedural memory ------------------------------------------------------------------

    /// <summary>The procedures of the user's own space and their organization's (each with its space), or of the one <paramref name="space"/> names.</summary>
    public async Task<IReadOnlyList<MemoryEntry>> ListProceduresAsync(CurrentUser user, CancellationToken cancellationToken, string? space = null)
    {
        var found = await Task.WhenAll(_spaces.Readable(user, space).Select(async s =>
            (await _store.ListProceduresAsync(s.OwnerId, cancellationToken).ConfigureAwait(false)).Select(p => p with { Space = s.Kind }))).ConfigureAwait(false);
        return [.. found.SelectMany(procedures => procedures)];
    }

    /// <summary>A procedure by key in one space: the user's own unless <paramref name="space"/> says <c>org</c> (<c>memory:write</c>); the same key may be in both.</summary>
    public async Task<MemoryEntry> PutProcedureAsync(CurrentUser user, string key, string? value, CancellationToken cancellationToken, DateTimeOffset? expiresAt = null, string? space = null)
    {
        var target = _spaces.Writable(user, space, OrganizationPermissions.MemoryWrite);
        key = RequireName(key, "key");
        RequireContent(value, "value");
        RequireFutureExpiry(expiresAt);
        var id = MemoryIds.ForProcedure(key);
        var embedding = EmbedAsync($"{key}: {value}", cancellationToken);
        var existing = await _store.FindAsync(target.OwnerId, id, cancellationToken).ConfigureAwait(false);
        var kept = existing is null ? await EnsureRoomAsync(target.OwnerId, cancellationToken).ConfigureAwait(false) : null;
        var now = _clock.GetUtcNow();
        var entry = new MemoryEntry(id, MemoryKind.Procedural, value!, existing?.At ?? now) { Key = key, UpdatedAt = now, ExpiresAt = expiresAt, Space = target.Kind };
        await _store.UpsertAsync(target.OwnerId, new NewMemory(entry, await embedding.ConfigureAwait(false)), cancellationToken).ConfigureAwait(false);
        kept?.Added();
        return entry;
    }

    public async Task<MemoryEntry> GetProcedureAsync(CurrentUser user, string key, CancellationToken cancellationToken, string? space = null)
    {
        var target = _spaces.One(user, space);
        var id = MemoryIds.ForProcedure(RequireName(key, "key"));
        return (await _store.FindAsync(target.OwnerId, id, cancellationToken).ConfigureAwait(false) ?? throw new NotFoundException("No procedure with this key.")) with { Space = target.Kind };
    }

    public async Task DeleteProcedureAsync(CurrentUser user, string key, CancellationToken cancellationToken, string? space = null)
    {
        var owner = _spaces.Writable(user, space, OrganizationPermissions.MemoryWrite).OwnerId;
        if (!await _store.DeleteAsync(owner, MemoryIds.ForProcedure(RequireName(key, "key")), cancellationToken).ConfigureAwait(false))
            throw new NotFoundException("No procedure with this key.");
        Forget(owner);
    }

    // ---- Shared checks ----------------------------------------------------------------------

    /// <summary>The user's session, or 404 (also for another user's session: ids cannot be probed).</summary>
    private async Task<MemorySession> RequireSessionAsync(CurrentUser user, string sessionId, CancellationToken cancellationToken) =>
        (MemoryIds.IsWellFormed(sessionId, MemoryIds.Session) ? await _store.FindSessionAsync(user.UserId, sessionId, cancellationToken).ConfigureAwait(false) : null)
        ?? throw new NotFoundException("No such memory session.");

    /// <summary>
    /// The user's session, which must be open. An open session is remembered for a few seconds
    /// (<see cref="MemoryOptions.OpenSessionCacheDuration"/>), so a burst of writes reads it once; ending
    /// it here forgets it at once (elsewhere, within that time).
    /// </summary>
    private async Task RequireOpenSessionAsync(CurrentUser user, string sessionId, CancellationToken cancellationToken)
    {
        var key = OpenSessionKey(user.UserId, sessionId);
        if (_cache.TryGetValue(key, out _)) return;
        var session = await RequireSessionAsync(user, sessionId, cancellationToken).ConfigureAwait(false);
        if (session.EndedAt is not null)
            throw new ConflictException("The session has ended; start a new session to add memories.");
        _cache.Set(key, true, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = _options.Value.OpenSessionCacheDuration });
    }

    /// <summary>Refuses a new memory past the plan's limit (402); a repeat that stores nothing counts until the total is read again.</summary>
    private Task<KeptTotals.Kept> EnsureRoomAsync(CurrentUser user, CancellationToken cancellationToken) => EnsureRoomAsync(user.UserId, cancellationToken);

    /// <summary>As above, for the space of <paramref name="owner"/> (on its own plan).</summary>
    private Task<KeptTotals.Kept> EnsureRoomAsync(string owner, CancellationToken cancellationToken) =>
        _kept.EnsureRoomForOneAsync(owner, QuotaKind.Memories, ct => _store.CountAsync(owner, ct), cancellationToken);

    private void Forget(CurrentUser user) => Forget(user.UserId);

    private void Forget(string owner) => _kept.Removed(owner, QuotaKind.Memories);

    private static (string, string, string) OpenSessionKey(string userId, string sessionId) => ("open-memory-session", userId, sessionId);

    private async Task<MemoryEntry> RequireAsync(CurrentUser user, string id, string prefix, string notFound, CancellationToken cancellationToken) =>
        (MemoryIds.IsWellFormed(id, prefix) ? await _store.FindAsync(user.UserId, id, cancellationToken).ConfigureAwait(false) : null)
        ?? throw new NotFoundException(notFound);

    private void RequireContent(string? content, string field)
    {
        if (string.IsNullOrWhiteSpace(content))
            throw new ValidationFailedException(field, $"'{field}' is required and may not be empty.");
        if (Encoding.UTF8.GetByteCount(content) > _options.Value.MaxContentBytes)
            throw new ValidationFailedException(field, $"'{field}' may be at most {_options.Value.MaxContentBytes} bytes (UTF-8).");
    }

    private static string RequireName(string? name, string field) =>
        OptionalName(name, field) ?? throw new ValidationFailedException(field, $"'{field}' is required.");

    /// <summary>Timelines, keys and agents: trimmed, at most <see cref="MaxNameLength"/> characters, no control characters; empty means absent.</summary>
    private static string? OptionalName(string? name, string field)
    {
        if (string.IsNullOrWhiteSpace(name)) return null;
        name = name.Trim();
        if (name.Length > MaxNameLength) throw new ValidationFailedException(field, $"'{field}' may be at most {MaxNameLength} characters.");
        return name.Any(char.IsControl) ? throw new ValidationFailedException(field, $"'{field}' may not contain control characters.") : name;
    }

    private async Task<float[]> EmbedAsync(string text, CancellationToken cancellationToken) =>
        (await _embedder.EmbedAsync([text], cancellationToken).ConfigureAwait(false))[0];

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "Memory session {SessionId} ended; summary: {SummarizedBy}, {EntryCount} entries")]
    private static partial void LogSessionEnded(ILogger logger, string sessionId, string summarizedBy, int entryCount);
}
