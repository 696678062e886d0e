using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Storage;
using SmartApp.Domain.Common.Telemetry;
using SmartApp.Domain.Identity;

namespace SmartApp.Domain.Billing;

/// <summary>
/// Stripe's events, applied once in any order: a webhook delivery, or one the webhook never received and the
/// recovery timer found in Stripe's events list. Each applied event makes the stored subscription what Stripe says now.
/// </summary>
public sealed partial class StripeWebhooks(
    IStripeGateway stripe, IBillingStore store, IProviderCheckpoints checkpoints, IUserRepository users, PlanQuotas quotas,
    IOptions<BillingOptions> options, TimeProvider clock, ILogger<StripeWebhooks> logger)
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
        // A deleted account (or one that never existed here) gets nothing written back into its partition by a late event; an
        // organization exists here from its first checkout (its billing record) until its space is deleted.
        if (userId is null || (SpaceAccess.IsOrganizationId(userId) ? current is null : await users.FindAsync(userId, cancellationToken).ConfigureAwait(false) is null))
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
            CancelAtPeriodEnd = subscription.CancelAtPeriodEnd, UpdatedAt = now, Seats = SpaceAccess.IsOrganizationId(userId) ? subscription.Seats : null,
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
        // A user's record shows their plan; an organization has no user record.
        if (current?.Plan != state.Plan && !SpaceAccess.IsOrganizationId(state.UserId)) await users.SetPlanAsync(state.UserId, state.Plan, cancellationToken).ConfigureAwait(false);
        quotas.PlanChanged(state.UserId);
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Applied Stripe event {EventId} ({Type}): plan {Plan}, status {Status}")]
    private static partial void LogApplied(ILogger logger, string eventId, string type, string plan, string status);

    [LoggerMessage(EventId = 7004, Level = LogLevel.Warning, Message = "Applied {Recovered} Stripe events the webhook never received (of {Listed} listed)")]
    private static partial void LogRecovered(ILogger logger, int recovered, int listed);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "Stripe event {EventId}: a charge of user {UserId} is disputed; answer it in Stripe's dashboard")]
    private static partial void LogDispute(ILogger logger, string eventId, string userId);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Warning, Message = "Stripe event {EventId} ({Type}) is for a customer no existing user is linked to; recorded and ignored")]
    private static partial void LogUnknownCustomer(ILogger logger, string eventId, string type);
}
