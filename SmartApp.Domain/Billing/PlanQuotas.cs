using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Chat;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Quotas;
using SmartApp.Domain.Identity;

namespace SmartApp.Domain.Billing;

/// <summary>
/// The plan limits the app enforces, one method per kind: chat messages a day and model tokens a month (429 until the
/// period resets), file passages indexed a month and the totals a user keeps (402: only a bigger plan lifts them).
/// A user's plan is read at most every 15 s per instance, and at once after a webhook changed it here.
/// </summary>
public sealed class PlanQuotas(IBillingStore store, IUsageStore usage, IMemoryCache cache, IOptions<BillingOptions> options, TimeProvider clock) : IQuotaGate
{
    private static readonly TimeSpan PlanCacheDuration = TimeSpan.FromSeconds(15);

    public async Task EnsureChatMessageAsync(CurrentUser user, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var plan = PlanOfAsync(user.UserId, cancellationToken);
        var today = usage.GetAsync(user.UserId, UsagePeriod.Day, now, cancellationToken);
        var month = usage.GetAsync(user.UserId, UsagePeriod.Month, now, cancellationToken);
        await Task.WhenAll(plan, today, month).ConfigureAwait(false);
        var limits = Entitlements(plan.Result);
        var name = PlanName(plan.Result);
        if (today.Result.Messages >= limits.MessagesPerDay)
        {
            var reset = new DateTimeOffset(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
            throw new QuotaExceededException($"The {name} plan allows {limits.MessagesPerDay} chat messages a day; more are possible after {reset:u}.", reset - now);
        }
        if (month.Result.Tokens >= limits.TokensPerMonth)
        {
            var reset = NextMonth(now);
            throw new QuotaExceededException($"The {name} plan allows {limits.TokensPerMonth} model tokens a month; more are possible after {reset:u}.", reset - now);
        }
    }

    public async Task CountToolCallAsync(CurrentUser user, CancellationToken cancellationToken)
    {
        // One write, no read: the call is counted, and refused when the count passes the plan's (a refused call stays counted).
        var now = clock.GetUtcNow();
        var plan = PlanOfAsync(user.UserId, cancellationToken);
        var counted = usage.AddToolCallsAsync(user.UserId, now, 1, cancellationToken);
        await Task.WhenAll(plan, counted).ConfigureAwait(false);
        var allowed = Entitlements(plan.Result).ToolCallsPerDay;
        if (counted.Result > allowed)
        {
            var reset = new DateTimeOffset(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
            throw new QuotaExceededException($"The {PlanName(plan.Result)} plan allows {allowed} tool calls a day; more are possible after {reset:u}.", reset - now);
        }
    }

    public async Task EnsurePassagesLeftAsync(string ownerId, CancellationToken cancellationToken)
    {
        var plan = await PlanOfAsync(ownerId, cancellationToken).ConfigureAwait(false);
        var allowance = Entitlements(plan).PassagesPerMonth;
        if (await usage.GetPassagesAsync(ownerId, clock.GetUtcNow(), cancellationToken).ConfigureAwait(false) >= allowance)
            throw new QuotaExceededException($"The {PlanName(plan)} plan indexes {allowance} file passages a month and they are used; new files can be indexed after {NextMonth(clock.GetUtcNow()):u}, or upgrade.", paymentRequired: true);
    }

    public async Task EnsureWithinAsync(string ownerId, QuotaKind kind, long total, CancellationToken cancellationToken)
    {
        var plan = await PlanOfAsync(ownerId, cancellationToken).ConfigureAwait(false);
        var limits = Entitlements(plan);
        var (allowed, what) = kind switch
        {
            QuotaKind.Files => ((long)limits.Files, "files"),
            QuotaKind.StorageBytes => (limits.StorageBytes, "bytes of files"),
            QuotaKind.Memories => ((long)limits.Memories, "memories"),
            QuotaKind.Records => ((long)limits.Records, "data records"),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not a kept total."),
        };
        if (total > allowed)
            throw new QuotaExceededException($"The {PlanName(plan)} plan allows {allowed} {what}; delete some or upgrade.", paymentRequired: true);
    }

    public async Task<PassageGrant> GrantPassagesAsync(string userId, int wanted, CancellationToken cancellationToken)
    {
        var plan = await PlanOfAsync(userId, cancellationToken).ConfigureAwait(false);
        var limits = Entitlements(plan);
        var now = clock.GetUtcNow();
        var left = Math.Max(0, limits.PassagesPerMonth - await usage.GetPassagesAsync(userId, now, cancellationToken).ConfigureAwait(false));
        var granted = (int)Math.Min(wanted, Math.Min(limits.PassagesPerFile, left));
        if (granted > 0) await usage.AddPassagesAsync(userId, now, granted, cancellationToken).ConfigureAwait(false);
        var reason = granted == wanted ? null
            : granted == limits.PassagesPerFile
                ? $"The {PlanName(plan)} plan indexes the first {limits.PassagesPerFile} passages of a file; this one has {wanted}. Split it, or upgrade."
                : $"The {PlanName(plan)} plan indexes {limits.PassagesPerMonth} file passages a month and {left} were left; the rest can be indexed by retrying the file after {NextMonth(now):u}, or upgrade.";
        return new PassageGrant(granted, reason);
    }

    /// <summary>What a plan allows (an unknown plan: the free plan's).</summary>
    public async Task<TokenPrice> TokenPriceAsync(CurrentUser user, CancellationToken cancellationToken)
    {
        var plan = await PlanOfAsync(user.UserId, cancellationToken).ConfigureAwait(false);
        var planOptions = options.Value.Plans.TryGetValue(plan, out var found) ? found : options.Value.Plans[BillingOptions.FreePlan];
        var tokens = planOptions.Entitlements.TokensPerMonth;
        return new TokenPrice(plan, tokens > 0 ? (decimal)planOptions.MonthlyPriceCents / tokens : 0);
    }

    public PlanEntitlements Entitlements(string plan) =>
        (options.Value.Plans.TryGetValue(plan, out var found) ? found : options.Value.Plans[BillingOptions.FreePlan]).Entitlements;

    /// <summary>After a webhook changed the user's plan here: the next check reads it again.</summary>
    public void PlanChanged(string userId) => cache.Remove(PlanKey(userId));

    private string PlanName(string plan) => options.Value.Plans.TryGetValue(plan, out var found) ? found.Name : plan;

    private async Task<string> PlanOfAsync(string userId, CancellationToken cancellationToken) =>
        await cache.GetOrCreateAsync(PlanKey(userId), async entry =>
        {
            entry.AbsoluteExpirationRelativeToNow = PlanCacheDuration;
            entry.Size = 1;
            return (await store.FindAsync(userId, cancellationToken).ConfigureAwait(false))?.Plan ?? BillingOptions.FreePlan;
        }).ConfigureAwait(false) ?? BillingOptions.FreePlan;

    private static DateTimeOffset NextMonth(DateTimeOffset now) => new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);

    private static (string, string) PlanKey(string userId) => ("billing-plan", userId);
}
