using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Chat;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Data;
using SmartApp.Domain.Files;
using SmartApp.Domain.Identity;
using SmartApp.Domain.Memory;

namespace SmartApp.Domain.Billing;

/// <summary>
/// Plans, a user's subscription beside what they use, and Stripe Checkout and the customer portal. Webhooks are
/// <see cref="StripeWebhooks"/>; the limits are <see cref="PlanQuotas"/>.
/// </summary>
public sealed class BillingService(
    IStripeGateway stripe, IBillingStore store, PlanQuotas quotas, IUsageStore usage, IFileStore files, IMemoryStore memories, IRecordStore records, IMemoryCache cache,
    AllowedOrigins origins, IOptions<BillingOptions> options, TimeProvider clock)
{
    public IReadOnlyDictionary<string, PlanOptions> Plans => options.Value.Plans;

    /// <summary>The user's plan and what it allows, beside what they use now.</summary>
    public async Task<(SubscriptionState State, PlanEntitlements Entitlements, CurrentUsage Usage)> GetSubscriptionAsync(CurrentUser user, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var state = store.FindAsync(user.UserId, cancellationToken);
        var today = usage.GetAsync(user.UserId, UsagePeriod.Day, now, cancellationToken);
        var month = usage.GetAsync(user.UserId, UsagePeriod.Month, now, cancellationToken);
        var kept = files.TotalsAsync(user.UserId, cancellationToken);
        var memoriesKept = memories.CountAsync(user.UserId, cancellationToken);
        var recordsKept = records.CountAsync(user.UserId, null, cancellationToken);
        var passages = usage.GetPassagesAsync(user.UserId, now, cancellationToken);
        var toolCalls = usage.GetToolCallsAsync(user.UserId, now, cancellationToken);
        await Task.WhenAll(state, today, month, kept, memoriesKept, recordsKept, passages, toolCalls).ConfigureAwait(false);
        var subscription = state.Result ?? SubscriptionState.Free(user.UserId);
        return (subscription, quotas.Entitlements(subscription.Plan),
            new CurrentUsage(today.Result, month.Result, kept.Result.Files, kept.Result.Bytes, memoriesKept.Result, recordsKept.Result, passages.Result)
            {
                ToolCallsToday = toolCalls.Result,
            });
    }

    /// <summary>How long one instance answers today's usage from memory: <c>/api/me</c> is polled, and quota checks read the counts exactly.</summary>
    private static readonly TimeSpan UsageCacheDuration = TimeSpan.FromSeconds(5);

    /// <summary>The user's chat use so far today (UTC), as <c>/api/me</c> shows it.</summary>
    public async Task<UsageTotals> UsageTodayAsync(string userId, CancellationToken cancellationToken) =>
        await cache.GetOrCreateAsync(("usage-today", userId), entry =>
        {
            entry.AbsoluteExpirationRelativeToNow = UsageCacheDuration;
            entry.Size = 1;
            return usage.GetAsync(userId, UsagePeriod.Day, clock.GetUtcNow(), cancellationToken);
        }).ConfigureAwait(false) ?? UsageTotals.None;

    /// <param name="appOrigin">This app's own origin: <paramref name="successUrl"/> and <paramref name="cancelUrl"/> may be paths on it.</param>
    public async Task<Uri> CheckoutAsync(CurrentUser user, string? plan, string? successUrl, string? cancelUrl, Uri appOrigin, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(plan) || !options.Value.Plans.TryGetValue(plan, out var chosen) || chosen.StripePriceId is null)
            throw new ValidationFailedException("plan", $"'plan' must be a paid plan: {string.Join(", ", options.Value.Plans.Where(p => p.Value.StripePriceId is not null).Select(p => p.Key))}.");
        var state = await store.FindAsync(user.UserId, cancellationToken).ConfigureAwait(false);
        return await stripe.CreateCheckoutAsync(user.UserId, user.Email, state?.StripeCustomerId, chosen.StripePriceId,
            ReturnUrl(successUrl, "successUrl", appOrigin), ReturnUrl(cancelUrl, "cancelUrl", appOrigin), cancellationToken).ConfigureAwait(false);
    }

    public async Task<Uri> PortalAsync(CurrentUser user, string? returnUrl, Uri appOrigin, CancellationToken cancellationToken)
    {
        var state = await store.FindAsync(user.UserId, cancellationToken).ConfigureAwait(false);
        if (state?.StripeCustomerId is not { } customer) throw new ConflictException("There is no billing account yet: subscribe through checkout first.");
        return await stripe.CreatePortalAsync(customer, ReturnUrl(returnUrl, "returnUrl", appOrigin), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Where Stripe sends the browser back: a path on this app, or a URL on one of the app's allowed origins,
    /// as sign-in allows (never a URL a planted link could choose).
    /// </summary>
    private string ReturnUrl(string? url, string field, Uri appOrigin) =>
        url is null ? options.Value.DefaultReturnUrl
        : url.StartsWith('/') && origins.IsAllowedReturn(url) ? new Uri(appOrigin, url).ToString()
        : origins.IsAllowedUrl(url) ? url
        : throw new ValidationFailedException(field, $"'{field}' must be a path on this app or an http(s) URL on one of its allowed origins (Auth:AllowedOrigins).");

}
