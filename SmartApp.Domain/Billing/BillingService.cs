using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Chat;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Quotas;
using SmartApp.Domain.Common.Storage;
using SmartApp.Domain.Common.Telemetry;
using SmartApp.Domain.Data;
using SmartApp.Domain.Files;
using SmartApp.Domain.Identity;
using SmartApp.Domain.Memory;

namespace SmartApp.Domain.Billing;

/// <summary>
/// Plans, Stripe Checkout and portal, webhooks applied once in any order, and the plan limits the app
/// enforces (chat messages a day, model tokens a month, files, bytes, memories and data records kept).
/// </summary>
public sealed partial class BillingService(
    IStripeGateway stripe, IBillingStore store, ProviderCheckpoints checkpoints, IUserRepository users, IUsageStore usage, IFileStore files, IMemoryStore memories, IRecordStore records, IMemoryCache cache,
    AllowedOrigins origins, IOptions<BillingOptions> options, TimeProvider clock, ILogger<BillingService> logger) : IQuotaGate
{
    /// <summary>
    /// The events of a subscription's life (Stripe's list for subscription businesses). Each makes SmartApp read the
    /// subscription from Stripe again and store what it says, with what the user must be told (trial end, a payment
    /// that needs them, a failed payment).
    /// </summary>
    public static readonly IReadOnlySet<string> SubscriptionEvents = new HashSet<string>(StringComparer.Ordinal)
    {
        "checkout.session.completed",
        "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted", "customer.subscription.paused",
        "customer.subscription.resumed", "customer.subscription.trial_will_end", "customer.subscription.pending_update_applied",
        "customer.subscription.pending_update_expired",
        "invoice.paid", "invoice.payment_failed", "invoice.payment_action_required", "invoice.upcoming",
        "entitlements.active_entitlement_summary.updated",
    };

    /// <summary>Events about the customer or a charge rather than a subscription.</summary>
    public static readonly IReadOnlySet<string> AccountEvents = new HashSet<string>(StringComparer.Ordinal) { "customer.deleted", "charge.dispute.created" };
    private static readonly TimeSpan PlanCacheDuration = TimeSpan.FromSeconds(15);

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
        await Task.WhenAll(state, today, month, kept, memoriesKept, recordsKept, passages).ConfigureAwait(false);
        var subscription = state.Result ?? SubscriptionState.Free(user.UserId);
        return (subscription, Entitlements(subscription.Plan),
            new CurrentUsage(today.Result, month.Result, kept.Result.Files, kept.Result.Bytes, memoriesKept.Result, recordsKept.Result, passages.Result));
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
    /// Applies a verified event by reading the subscription's current state from Stripe and storing
    /// that, so duplicates and out-of-order deliveries converge on the truth; only then is the event
    /// recorded as applied. When Stripe cannot be reached nothing is recorded, and the retry applies it.
    /// A delivery of an event already applied is applied again when the stored state is older than the
    /// event (the state changed at Stripe since, or was written from an older read).
    /// </summary>
    public async Task<WebhookOutcome> HandleWebhookAsync(string body, string? signature, CancellationToken cancellationToken) =>
        await ApplyAsync(stripe.ParseWebhook(body, signature), cancellationToken).ConfigureAwait(false);

    public async Task<WebhookOutcome> ApplyAsync(BillingEvent billingEvent, CancellationToken cancellationToken)
    {
        var applied = store.IsAppliedAsync(billingEvent.Id, cancellationToken);
        var userId = billingEvent.UserId ?? (billingEvent.CustomerId is { } customer ? await store.FindUserByCustomerAsync(customer, cancellationToken).ConfigureAwait(false) : null);
        var current = userId is null ? null : await store.FindAsync(userId, cancellationToken).ConfigureAwait(false);
        var subscriptionId = billingEvent.SubscriptionId
            ?? (billingEvent.Type == "entitlements.active_entitlement_summary.updated" ? current?.StripeSubscriptionId : null);
        var handled = SubscriptionEvents.Contains(billingEvent.Type) && subscriptionId is not null;
        var wasApplied = await applied.ConfigureAwait(false);
        if (wasApplied && !(handled && current is not null && billingEvent.Created is { } created && current.UpdatedAt < created))
            return new WebhookOutcome(billingEvent.Id, billingEvent.Type, AlreadyApplied: true, null, null);

        if (billingEvent.Type == "charge.dispute.created")
            LogDispute(logger, billingEvent.Id, userId ?? "(unknown)"); // the app's owner answers disputes in Stripe's dashboard
        if (billingEvent.Type == "customer.deleted" && userId is not null && current is not null)
        {
            // The customer is gone at Stripe, and every subscription with it: the user is on the free plan, with no billing account.
            await SaveAsync(current, SubscriptionState.Free(userId) with { Status = "canceled", UpdatedAt = clock.GetUtcNow() }, cancellationToken).ConfigureAwait(false);
        }
        if (!handled)
        {
            await store.MarkAppliedAsync(billingEvent.Id, billingEvent.Type, cancellationToken).ConfigureAwait(false);
            return new WebhookOutcome(billingEvent.Id, billingEvent.Type, false, userId, current?.Plan);
        }

        var subscription = await stripe.GetSubscriptionAsync(subscriptionId!, cancellationToken).ConfigureAwait(false);
        // The subscription names its user (metadata), else the event's user, else the customer's: the stored state is read again only when that changes who it is.
        var owner = subscription.UserId ?? userId ?? await store.FindUserByCustomerAsync(subscription.CustomerId, cancellationToken).ConfigureAwait(false);
        if (owner != userId)
        {
            userId = owner;
            current = owner is null ? null : await store.FindAsync(owner, cancellationToken).ConfigureAwait(false);
        }
        var pricedPlan = options.Value.PlanForPrice(subscription.PriceId)
            ?? throw new ValidationFailedException("plan", "The subscription's price is not one of this app's plans.");
        // A deleted account (or one that never existed here) gets nothing written back into its partition by a late event.
        if (userId is null || await users.FindAsync(userId, cancellationToken).ConfigureAwait(false) is null)
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
            // paused (a trial ended without a payment method), unpaid, canceled, incomplete…
            _ => BillingOptions.FreePlan,
        };
        var state = Notices(billingEvent, current, new SubscriptionState(userId, plan, subscription.Status)
        {
            StripeCustomerId = subscription.CustomerId, StripeSubscriptionId = subscription.Id, CurrentPeriodEnd = subscription.CurrentPeriodEnd,
            CancelAtPeriodEnd = subscription.CancelAtPeriodEnd, UpdatedAt = now,
            TrialEndsAt = subscription.Status == "trialing" ? subscription.TrialEnd : null,
        }, now);
        await SaveAsync(current, state, cancellationToken).ConfigureAwait(false);
        await store.MarkAppliedAsync(billingEvent.Id, billingEvent.Type, cancellationToken).ConfigureAwait(false);
        if (billingEvent.Created is { } createdAt)
            SmartAppTelemetry.WebhookLag.Record(Math.Max(0, (clock.GetUtcNow() - createdAt).TotalSeconds), new KeyValuePair<string, object?>("type", billingEvent.Type));
        LogApplied(logger, billingEvent.Id, billingEvent.Type, plan, subscription.Status);
        return new WebhookOutcome(billingEvent.Id, billingEvent.Type, wasApplied, userId, plan);
    }

    /// <summary>
    /// Events Stripe could not deliver (the endpoint was down, or gave up retrying) are still in its events list:
    /// every one of the handled types since the last look that was never applied is applied now, oldest first.
    /// The next look starts a little before the newest event seen, as events can appear in the list late.
    /// </summary>
    public async Task<int> RecoverMissedEventsAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(options.Value.StripeSecretKey)) return 0;
        var now = clock.GetUtcNow();
        var since = await checkpoints.GetAsync(CheckpointReader, cancellationToken).ConfigureAwait(false) is { } saved
            ? DateTimeOffset.Parse(saved, System.Globalization.CultureInfo.InvariantCulture)
            : now - options.Value.EventRecoveryWindow;
        var events = await stripe.ListEventsAsync(since, SubscriptionEvents.Concat(AccountEvents), cancellationToken).ConfigureAwait(false);
        var recovered = 0;
        foreach (var missed in events)
        {
            if (await store.IsAppliedAsync(missed.Id, cancellationToken).ConfigureAwait(false)) continue;
            if (!(await ApplyAsync(missed, cancellationToken).ConfigureAwait(false)).AlreadyApplied) recovered++;
        }
        // Never backwards: a quiet stretch keeps the start where it was.
        var newest = events.Select(e => e.Created).Max() ?? since;
        var next = Min(newest, now) - RecoveryOverlap;
        if (next > since || events.Count == 0)
            await checkpoints.SaveAsync(CheckpointReader, (next > since ? next : since).ToString("O"), cancellationToken).ConfigureAwait(false);
        if (recovered > 0) LogRecovered(logger, recovered, events.Count);
        return recovered;
    }

    private const string CheckpointReader = "stripe-events";

    /// <summary>How far before the newest event seen the next look starts (events are listed within seconds, not always at once).</summary>
    private static readonly TimeSpan RecoveryOverlap = TimeSpan.FromMinutes(5);

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    /// <summary>
    /// What the user must be told, carried over from the stored state and changed by this event: a payment that needs them
    /// (its hosted invoice), a failed payment; a paid invoice clears both. A notice from an event older than the last
    /// payment does not come back (Stripe does not deliver in order).
    /// </summary>
    private static SubscriptionState Notices(BillingEvent billingEvent, SubscriptionState? current, SubscriptionState state, DateTimeOffset now)
    {
        var at = billingEvent.Created ?? now;
        state = state with { ActionRequired = current?.ActionRequired, PaymentFailedAt = current?.PaymentFailedAt, LastPaidAt = current?.LastPaidAt };
        var afterLastPayment = state.LastPaidAt is not { } paid || at >= paid;
        return billingEvent.Type switch
        {
            "invoice.paid" when afterLastPayment => state with { ActionRequired = null, PaymentFailedAt = null, LastPaidAt = at },
            "invoice.payment_action_required" when afterLastPayment && billingEvent.InvoiceId is { } invoice =>
                state with { ActionRequired = new PaymentAction(invoice, billingEvent.HostedInvoiceUrl, at) },
            "invoice.payment_failed" when afterLastPayment => state with { PaymentFailedAt = at },
            _ => state,
        };
    }

    /// <summary>Stores the state even when only its time changed: <see cref="SubscriptionState.UpdatedAt"/> is when it was last read from Stripe.</summary>
    private async Task SaveAsync(SubscriptionState? current, SubscriptionState state, CancellationToken cancellationToken)
    {
        await store.UpsertAsync(state, cancellationToken).ConfigureAwait(false);
        if (current?.Plan != state.Plan) await users.SetPlanAsync(state.UserId, state.Plan, cancellationToken).ConfigureAwait(false);
        cache.Remove(PlanKey(state.UserId));
    }

    /// <summary>
    /// A chat message needs room in both the day's messages and the month's model tokens: over either
    /// is a 429 with Retry-After until that period resets (the next UTC day or month).
    /// </summary>
    public async Task EnsureAsync(CurrentUser user, QuotaKind kind, CancellationToken cancellationToken)
    {
        if (kind == QuotaKind.Passages)
        {
            var (allowance, planName) = await PassageAllowanceAsync(user.UserId, cancellationToken).ConfigureAwait(false);
            if (await usage.GetPassagesAsync(user.UserId, clock.GetUtcNow(), cancellationToken).ConfigureAwait(false) >= allowance)
                throw new QuotaExceededException($"The {planName} plan indexes {allowance} file passages a month and they are used; new files can be indexed after {NextMonth(clock.GetUtcNow()):u}, or upgrade.", paymentRequired: true);
            return;
        }
        if (kind != QuotaKind.ChatMessage) return;
        var now = clock.GetUtcNow();
        var plan = PlanOfAsync(user, cancellationToken);
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

    /// <summary>Totals (files, bytes and memories kept): over the plan's allowance is a 402, since only a bigger plan lifts it.</summary>
    public async Task EnsureWithinAsync(CurrentUser user, QuotaKind kind, long total, CancellationToken cancellationToken)
    {
        var plan = await PlanOfAsync(user, cancellationToken).ConfigureAwait(false);
        var limits = Entitlements(plan);
        var (allowed, what) = kind switch
        {
            QuotaKind.Files => ((long)limits.Files, "files"),
            QuotaKind.StorageBytes => (limits.StorageBytes, "bytes of files"),
            QuotaKind.Memories => ((long)limits.Memories, "memories"),
            QuotaKind.Records => ((long)limits.Records, "data records"),
            _ => (long.MaxValue, ""),
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

    private async Task<(long Allowance, string PlanName)> PassageAllowanceAsync(string userId, CancellationToken cancellationToken)
    {
        var plan = await PlanOfAsync(userId, cancellationToken).ConfigureAwait(false);
        return (Entitlements(plan).PassagesPerMonth, PlanName(plan));
    }

    private static DateTimeOffset NextMonth(DateTimeOffset now) => new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);

    private Task<string> PlanOfAsync(CurrentUser user, CancellationToken cancellationToken) => PlanOfAsync(user.UserId, cancellationToken);

    private async Task<string> PlanOfAsync(string userId, CancellationToken cancellationToken) =>
        await cache.GetOrCreateAsync(PlanKey(userId), async entry =>
        {
            entry.AbsoluteExpirationRelativeToNow = PlanCacheDuration;
            entry.Size = 1;
            return (await store.FindAsync(userId, cancellationToken).ConfigureAwait(false))?.Plan ?? BillingOptions.FreePlan;
        }).ConfigureAwait(false) ?? BillingOptions.FreePlan;

    private PlanEntitlements Entitlements(string plan) =>
        (options.Value.Plans.TryGetValue(plan, out var found) ? found : options.Value.Plans[BillingOptions.FreePlan]).Entitlements;

    private string PlanName(string plan) => options.Value.Plans.TryGetValue(plan, out var found) ? found.Name : plan;

    /// <summary>
    /// Where Stripe sends the browser back: a path on this app, or a URL on one of the app's allowed origins,
    /// as sign-in allows (never a URL a planted link could choose).
    /// </summary>
    private string ReturnUrl(string? url, string field, Uri appOrigin) =>
        url is null ? options.Value.DefaultReturnUrl
        : url.StartsWith('/') && origins.IsAllowedReturn(url) ? new Uri(appOrigin, url).ToString()
        : origins.IsAllowedUrl(url) ? url
        : throw new ValidationFailedException(field, $"'{field}' must be a path on this app or an http(s) URL on one of its allowed origins (Auth:AllowedOrigins).");

    private static (string, string) PlanKey(string userId) => ("billing-plan", userId);

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Applied Stripe event {EventId} ({Type}): plan {Plan}, status {Status}")]
    private static partial void LogApplied(ILogger logger, string eventId, string type, string plan, string status);

    [LoggerMessage(EventId = 7004, Level = LogLevel.Warning, Message = "Applied {Recovered} Stripe events the webhook never received (of {Listed} listed)")]
    private static partial void LogRecovered(ILogger logger, int recovered, int listed);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "Stripe event {EventId}: a charge of user {UserId} is disputed; answer it in Stripe's dashboard")]
    private static partial void LogDispute(ILogger logger, string eventId, string userId);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Warning, Message = "Stripe event {EventId} ({Type}) is for a customer no existing user is linked to; recorded and ignored")]
    private static partial void LogUnknownCustomer(ILogger logger, string eventId, string type);
}
