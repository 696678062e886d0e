using SmartApp.Domain.Identity;

namespace SmartApp.Domain.Common.Quotas;

/// <summary>What a plan limits as a total the user keeps: only deleting some or a bigger plan makes room (402).</summary>
public enum QuotaKind
{
    /// <summary>Files kept (a total: only a bigger plan lifts it, 402).</summary>
    Files,

    /// <summary>Bytes of files kept (a total: 402).</summary>
    StorageBytes,

    /// <summary>Memories kept: working, episodic, semantic and procedural together (a total: 402).</summary>
    Memories,

    /// <summary>Data records kept, across all of the user's tables (a total: 402).</summary>
    Records,
}

/// <summary>How many of a file's passages may be indexed, and, when fewer than asked, why.</summary>
public sealed record PassageGrant(int Granted, string? Reason);

/// <summary>
/// What the user's plan charges for model tokens: its monthly price spread over the tokens it includes (<c>MonthlyPriceCents /
/// TokensPerMonth</c>; a free plan's are free). What a reply cost is its tokens at this price.
/// </summary>
public sealed record TokenPrice(string Plan, decimal CentsPerToken)
{
    public static readonly TokenPrice Free = new("free", 0);

    /// <summary>The price of <paramref name="tokens"/>, in cents of the plan's currency, to a millionth of a cent.</summary>
    public decimal Of(long tokens) => Math.Round(tokens * CentsPerToken, 6);
}

/// <summary>Refuses work over the user's plan limits (429 until the period resets, or 402 when only a paid plan lifts the limit).</summary>
public interface IQuotaGate
{
    /// <summary>Room for one more chat message today and for model tokens this month; over either is a 429 until that period resets.</summary>
    Task EnsureChatMessageAsync(CurrentUser user, CancellationToken cancellationToken);

    /// <summary>Counts one tool call (chat or MCP) in today's, refusing (429 until tomorrow, UTC) once the plan's tool calls of the day are used.</summary>
    Task CountToolCallAsync(CurrentUser user, CancellationToken cancellationToken);

    /// <summary>
    /// File passages left to index this month in the space of <paramref name="ownerId"/> (a user's, or an organization's on its
    /// own plan): a file that would be ingested is refused (402) once they are spent.
    /// </summary>
    Task EnsurePassagesLeftAsync(string ownerId, CancellationToken cancellationToken);

    /// <summary>Refuses (402) when a kept total of the space of <paramref name="ownerId"/> would become <paramref name="total"/> and its plan allows less.</summary>
    Task EnsureWithinAsync(string ownerId, QuotaKind kind, long total, CancellationToken cancellationToken);

    /// <summary>
    /// Passages of one of the user's files that ingestion may index now: at most the plan's per-file allowance
    /// and what is left of the month's. Those granted are counted at once, before the work.
    /// </summary>
    Task<PassageGrant> GrantPassagesAsync(string userId, int wanted, CancellationToken cancellationToken);

    /// <summary>The price of model tokens on the user's plan.</summary>
    Task<TokenPrice> TokenPriceAsync(CurrentUser user, CancellationToken cancellationToken);
}

/// <summary>No plan limits: for running a capability without billing (the benchmarks' in-process services). The app registers billing's gate.</summary>
public sealed class NoQuotas : IQuotaGate
{
    public Task EnsureChatMessageAsync(CurrentUser user, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task CountToolCallAsync(CurrentUser user, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task EnsurePassagesLeftAsync(string ownerId, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task EnsureWithinAsync(string ownerId, QuotaKind kind, long total, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<PassageGrant> GrantPassagesAsync(string userId, int wanted, CancellationToken cancellationToken) => Task.FromResult(new PassageGrant(wanted, null));

    public Task<TokenPrice> TokenPriceAsync(CurrentUser user, CancellationToken cancellationToken) => Task.FromResult(TokenPrice.Free);
}
