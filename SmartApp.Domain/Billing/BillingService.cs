using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Chat;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Quotas;
using SmartApp.Domain.Common.Telemetry;
using SmartApp.Domain.Identity;

namespace SmartApp.Domain.Billing;

/// <summary>Plans, Stripe Checkout and portal, webhooks applied once in any order, and the plan limits the app enforces (chat messages a day, files and bytes kept).</summary>
public sealed partial class BillingService(
    IStripeGateway stripe, IBillingStore store, IUserRepository users, IUsageStore usage, IMemoryCache cache,
    IOptions<BillingOptions> options, TimeProvider clock, ILogger<BillingService> logger) : IQuotaGate
{
    private static readonly HashSet<string> Handled =
    [
        "checkout.session.completed", "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted", "invoice.paid", "invoice.payment_failed",
    ];
    private static readonly TimeSpan PlanCacheDuration = TimeSpan.FromSeconds(15);

    public IReadOnlyDictionary<string, PlanOptions> Plans => options.Value.Plans;

    public async Task<(SubscriptionState State, PlanEntitlements Entitlements, DailyUsage Today)> GetSubscriptionAsync(CurrentUser user, CancellationToken cancellationToken)
    {
        var state = await store.FindAsync(user.UserId, cancellationToken).ConfigureAwait(false) ?? SubscriptionState.Free(user.UserId);
        var today = await usage.GetAsync(user.UserId, Today(), cancellationToken).ConfigureAwait(false);
        return (state, Entitlements(state.Plan), today);
    }

    public async Task<Uri> CheckoutAsync(CurrentUser user, string? plan, string? successUrl, string? cancelUrl, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(plan) || !options.Value.Plans.TryGetValue(plan, out var chosen) || chosen.StripePriceId is null)
            throw new ValidationFailedException("plan", $"'plan' must be a paid plan: {string.Join(", ", options.Value.Plans.Where(p => p.Value.StripePriceId is not null).Select(p => p.Key))}.");
        var state = await store.FindAsync(user.UserId, cancellationToken).ConfigureAwait(false);
        return await stripe.CreateCheckoutAsync(user.UserId, user.Email, state?.StripeCustomerId, chosen.StripePriceId,
            ReturnUrl(successUrl, "successUrl"), ReturnUrl(cancelUrl, "cancelUrl"), cancellationToken).ConfigureAwait(false);
    }

    public async Task<Uri> PortalAsync(CurrentUser user, string? returnUrl, CancellationToken cancellationToken)
    {
        var state = await store.FindAsync(user.UserId, cancellationToken).ConfigureAwait(false);
        if (state?.StripeCustomerId is not { } customer) throw new ConflictException("There is no billing account yet: subscribe through checkout first.");
        return await stripe.CreatePortalAsync(customer, ReturnUrl(returnUrl, "returnUrl"), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Applies a verified event by reading the subscription's current state from Stripe and storing
    /// that, so duplicates and out-of-order deliveries converge on the truth; only then is the event
    /// recorded as applied. When Stripe cannot be reached nothing is recorded, and the retry applies it.
    /// </summary>
    public async Task<WebhookOutcome> HandleWebhookAsync(string body, string? signature, CancellationToken cancellationToken)
    {
        var billingEvent = stripe.ParseWebhook(body, signature);
        var handled = Handled.Contains(billingEvent.Type) && billingEvent.SubscriptionId is not null;
        // The checks and reads below are independent, so they run side by side (the read from Stripe is wasted only for a repeat).
        var applied = store.IsAppliedAsync(billingEvent.Id, cancellationToken);
        var fetched = handled ? stripe.GetSubscriptionAsync(billingEvent.SubscriptionId!, cancellationToken) : null;
        var stored = handled && billingEvent.UserId is { } eventUser ? store.FindAsync(eventUser, cancellationToken) : null;
        if (await applied.ConfigureAwait(false))
        {
            await Task.WhenAll(new Task?[] { fetched, stored }.OfType<Task>()).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false); // observe, and ignore, the speculative reads
            return new WebhookOutcome(billingEvent.Id, billingEvent.Type, AlreadyApplied: true, null, null);
        }
        if (fetched is null)
        {
            await store.MarkAppliedAsync(billingEvent.Id, billingEvent.Type, cancellationToken).ConfigureAwait(false);
            return new WebhookOutcome(billingEvent.Id, billingEvent.Type, false, null, null);
        }

        var subscription = await fetched.ConfigureAwait(false);
        var userId = subscription.UserId ?? billingEvent.UserId ?? await store.FindUserByCustomerAsync(subscription.CustomerId, cancellationToken).ConfigureAwait(false);
        var pricedPlan = options.Value.PlanForPrice(subscription.PriceId)
            ?? throw new ValidationFailedException("plan", "The subscription's price is not one of this app's plans.");
        if (userId is null)
        {
            LogUnknownCustomer(logger, billingEvent.Id, billingEvent.Type);
            await store.MarkAppliedAsync(billingEvent.Id, billingEvent.Type, cancellationToken).ConfigureAwait(false);
            return new WebhookOutcome(billingEvent.Id, billingEvent.Type, false, null, null);
        }

        var now = clock.GetUtcNow();
        var plan = subscription.Status switch
        {
            "active" or "trialing" => pricedPlan,
            // A failed payment keeps access until the paid period ends.
            "past_due" when subscription.CurrentPeriodEnd > now => pricedPlan,
            _ => BillingOptions.FreePlan,
        };
        var state = new SubscriptionState(userId, plan, subscription.Status)
        {
            StripeCustomerId = subscription.CustomerId, StripeSubscriptionId = subscription.Id, CurrentPeriodEnd = subscription.CurrentPeriodEnd,
            CancelAtPeriodEnd = subscription.CancelAtPeriodEnd, UpdatedAt = now,
        };
        var current = stored is not null && userId == billingEvent.UserId ? await stored.ConfigureAwait(false) : await store.FindAsync(userId, cancellationToken).ConfigureAwait(false);
        if (current is null || current with { UpdatedAt = now } != state)
        {
            await store.UpsertAsync(state, cancellationToken).ConfigureAwait(false);
            if (current?.Plan != plan) await users.SetPlanAsync(userId, plan, cancellationToken).ConfigureAwait(false);
            cache.Remove(PlanKey(userId));
        }
        await store.MarkAppliedAsync(billingEvent.Id, billingEvent.Type, cancellationToken).ConfigureAwait(false);
        if (billingEvent.Created is { } createdAt)
            SmartAppTelemetry.WebhookLag.Record(Math.Max(0, (clock.GetUtcNow() - createdAt).TotalSeconds), new KeyValuePair<string, object?>("type", billingEvent.Type));
        LogApplied(logger, billingEvent.Id, billingEvent.Type, plan, subscription.Status);
        return new WebhookOutcome(billingEvent.Id, billingEvent.Type, false, userId, plan);
    }

    /// <summary>Chat messages per day: over the limit is a 429 with Retry-After until the next UTC day.</summary>
    public async Task EnsureAsync(CurrentUser user, QuotaKind kind, CancellationToken cancellationToken)
    {
        var plan = await PlanOfAsync(user, cancellationToken).ConfigureAwait(false);
        var limits = Entitlements(plan);
        var today = await usage.GetAsync(user.UserId, Today(), cancellationToken).ConfigureAwait(false);
        if (kind == QuotaKind.ChatMessage && today.Messages >= limits.MessagesPerDay)
        {
            var now = clock.GetUtcNow();
            var reset = new DateTimeOffset(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
            throw new QuotaExceededException($"The {options.Value.Plans[plan].Name} plan allows {limits.MessagesPerDay} chat messages a day; more are possible after {reset:u}.", reset - now);
        }
    }

    /// <summary>Totals (files, bytes kept): over the plan's allowance is a 402, since only a bigger plan lifts it.</summary>
    public async Task EnsureWithinAsync(CurrentUser user, QuotaKind kind, long total, CancellationToken cancellationToken)
    {
        var plan = await PlanOfAsync(user, cancellationToken).ConfigureAwait(false);
        var limits = Entitlements(plan);
        var (allowed, what) = kind switch
        {
            QuotaKind.Files => ((long)limits.Files, "files"),
            QuotaKind.StorageBytes => (limits.StorageBytes, "bytes of files"),
            _ => (long.MaxValue, ""),
        };
        if (total > allowed)
            throw new QuotaExceededException($"The {options.Value.Plans[plan].Name} plan allows {allowed} {what}; delete some or upgrade.", paymentRequired: true);
    }

    private async Task<string> PlanOfAsync(CurrentUser user, CancellationToken cancellationToken) =>
        await cache.GetOrCreateAsync(PlanKey(user.UserId), async entry =>
        {
            entry.AbsoluteExpirationRelativeToNow = PlanCacheDuration;
            entry.Size = 1;
            return (await store.FindAsync(user.UserId, cancellationToken).ConfigureAwait(false))?.Plan ?? BillingOptions.FreePlan;
        }).ConfigureAwait(false) ?? BillingOptions.FreePlan;

    private PlanEntitlements Entitlements(string plan) =>
        (options.Value.Plans.TryGetValue(plan, out var found) ? found : options.Value.Plans[BillingOptions.FreePlan]).Entitlements;

    private string ReturnUrl(string? url, string field) =>
        url is null ? options.Value.DefaultReturnUrl
        : Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http" ? url
        : throw new ValidationFailedException(field, $"'{field}' must be an absolute http(s) URL.");

    private DateOnly Today() => DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);

    private static (string, string) PlanKey(string userId) => ("billing-plan", userId);

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Applied Stripe event {EventId} ({Type}): plan {Plan}, status {Status}")]
    private static partial void LogApplied(ILogger logger, string eventId, string type, string plan, string status);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Warning, Message = "Stripe event {EventId} ({Type}) is for a customer no user is linked to; recorded and ignored")]
    private static partial void LogUnknownCustomer(ILogger logger, string eventId, string type);
}
