using SmartApp.Domain.Identity;

namespace SmartApp.Domain.Common.Quotas;

/// <summary>What a plan limits, checked before the work that uses it.</summary>
public enum QuotaKind
{
    /// <summary>A chat message: messages per day and model tokens per month (both reset: 429 with Retry-After).</summary>
    ChatMessage,

    /// <summary>Files kept (a total: only a bigger plan lifts it, 402).</summary>
    Files,

    /// <summary>Bytes of files kept (a total: 402).</summary>
    StorageBytes,

    /// <summary>Memories kept: working, episodic, semantic and procedural together (a total: 402).</summary>
    Memories,

    /// <summary>Data records kept, across all of the user's tables (a total: 402).</summary>
    Records,

    /// <summary>File passages indexed this month: a file that would be ingested is refused (402) once the month's are spent.</summary>
    Passages,
}

/// <summary>How many of a file's passages may be indexed, and, when fewer than asked, why.</summary>
public sealed record PassageGrant(int Granted, string? Reason);

/// <summary>Refuses work over the user's plan limits (429 until the period resets, or 402 when only a paid plan lifts the limit).</summary>
public interface IQuotaGate
{
    Task EnsureAsync(CurrentUser user, QuotaKind kind, CancellationToken cancellationToken);

    /// <summary>Refuses (402) when a total would become <paramref name="total"/> and the plan allows less.</summary>
    Task EnsureWithinAsync(CurrentUser user, QuotaKind kind, long total, CancellationToken cancellationToken);

    /// <summary>
    /// Passages of one of the user's files that ingestion may index now: at most the plan's per-file allowance
    /// and what is left of the month's. Those granted are counted at once, before the work.
    /// </summary>
    Task<PassageGrant> GrantPassagesAsync(string userId, int wanted, CancellationToken cancellationToken);
}

/// <summary>No plan limits: for running a capability without billing (the benchmarks' in-process services). The app registers billing's gate.</summary>
public sealed class NoQuotas : IQuotaGate
{
    public Task EnsureAsync(CurrentUser user, QuotaKind kind, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task EnsureWithinAsync(CurrentUser user, QuotaKind kind, long total, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<PassageGrant> GrantPassagesAsync(string userId, int wanted, CancellationToken cancellationToken) => Task.FromResult(new PassageGrant(wanted, null));
}
