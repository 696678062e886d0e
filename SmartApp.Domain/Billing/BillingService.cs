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
/// Plans, a space's subscription beside what it uses, and Stripe Checkout and the customer portal. A user's own space is on
/// their plan; an organization's on the organization's (its own Stripe customer, seats as the quantity), which only a member
/// with <c>billing:manage</c> may buy or manage. Webhooks are <see cref="StripeWebhooks"/>; the limits are <see cref="PlanQuotas"/>.
/// </summary>
public sealed class BillingService(
    IStripeGateway stripe, IBillingStore store, PlanQuotas quotas, IUsageStore usage, IFileStore files, IMemoryStore memories, IRecordStore records, IMemoryCache cache,
    AllowedOrigins origins, SpaceAccess spaces, IOptions<BillingOptions> options, TimeProvider clock)
{
    /// <summary>The most seats one organization's subscription may have.</summary>
    public const int MaxSeats = 10_000;

    public IReadOnlyDictionary<string, PlanOptions> Plans => options.Value.Plans;

    /// <summary>The plan of the user's own space (or the organization's, <paramref name="space"/> <c>org</c>: every member reads it) and what it allows, beside what the space uses now.</summary>
    public async Task<(SubscriptionState State, PlanEntitlements Entitlements, CurrentUsage Usage)> GetSubscriptionAsync(CurrentUser user, string? space, CancellationToken cancellationToken)
    {
        var owner = spaces.One(user, space).OwnerId;
        var now = clock.GetUtcNow();
        var state = store.FindAsync(owner, cancellationToken);
        var today = usage.GetAsync(owner, UsagePeriod.Day, now, cancellationToken);
        var month = usage.GetAsync(owner, UsagePeriod.Month, now, cancellationToken);
        var kept = files.TotalsAsync(owner, cancellationToken);
        var memoriesKept = memories.CountAsync(owner, cancellationToken);
        var recordsKept = records.CountAsync(owner, null, cancellationToken);
        var passages = usage.GetPassagesAsync(owner, now, cancellationToken);
        var toolCalls = usage.GetToolCallsAsync(owner, now, cancellationToken);
        await Task.WhenAll(state, today, month, kept, memoriesKept, recordsKept, passages, toolCalls).ConfigureAwait(false);
        var subscription = state.Result ?? SubscriptionState.Free(owner);
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

    /// <summary>
    /// A Checkout session for the user's own plan, or (<paramref name="space"/> <c>org</c>, <c>billing:manage</c>) the organization's
    /// for <paramref name="seats"/> seats. The organization's billing record is written first: from then on its subscription's
    /// events are applied to it (and after its space is deleted, to nothing).
    /// </summary>
    /// <param name="appOrigin">This app's own origin: <paramref name="successUrl"/> and <paramref name="cancelUrl"/> may be paths on it.</param>
    public async Task<Uri> CheckoutAsync(CurrentUser user, string? space, string? plan, int? seats, string? successUrl, string? cancelUrl, Uri appOrigin, CancellationToken cancellationToken)
    {
        var target = spaces.Writable(user, space, OrganizationPermissions.BillingManage);
        if (string.IsNullOrWhiteSpace(plan) || !options.Value.Plans.TryGetValue(plan, out var chosen) || chosen.StripePriceId is null)
            throw new ValidationFailedException("plan", $"'plan' must be a paid plan: {string.Join(", ", options.Value.Plans.Where(p => p.Value.StripePriceId is not null).Select(p => p.Key))}.");
        var quantity = target.Kind == SpaceKind.Org
            ? seats is null or (>= 1 and <= MaxSeats) ? seats ?? 1 : throw new ValidationFailedException("seats", $"'seats' is 1 to {MaxSeats}.")
            : seats is null or 1 ? 1 : throw new ValidationFailedException("seats", "'seats' are for an organization's subscription (space=org); a personal plan has one.");
        var successTo = ReturnUrl(successUrl, "successUrl", appOrigin);
        var cancelTo = ReturnUrl(cancelUrl, "cancelUrl", appOrigin);
        var state = await store.FindAsync(target.OwnerId, cancellationToken).ConfigureAwait(false);
        if (state is null && target.Kind == SpaceKind.Org)
            await store.UpsertAsync(SubscriptionState.Free(target.OwnerId) with { UpdatedAt = clock.GetUtcNow() }, cancellationToken).ConfigureAwait(false);
        return await stripe.CreateCheckoutAsync(target.OwnerId, user.Email, state?.StripeCustomerId, chosen.StripePriceId, quantity, successTo, cancelTo, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The customer portal for the user's own subscription, or the organization's (<c>billing:manage</c>).</summary>
    public async Task<Uri> PortalAsync(CurrentUser user, string? space, string? returnUrl, Uri appOrigin, CancellationToken cancellationToken)
    {
        var target = spaces.Writable(user, space, OrganizationPermissions.BillingManage);
        var state = await store.FindAsync(target.OwnerId, cancellationToken).ConfigureAwait(false);
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
