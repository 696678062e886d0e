namespace SmartApp.Domain.Billing;

/// <summary>A user's or an organization's subscription as SmartApp last saw it at Stripe (<see cref="UserId"/> is the owner id).</summary>
public sealed record SubscriptionState(string UserId, string Plan, string Status)
{
    /// <summary>An organization's subscription: the seats it pays for (the subscription item's quantity).</summary>
    public int? Seats { get; init; }

    public string? StripeCustomerId { get; init; }
    public string? StripeSubscriptionId { get; init; }
    public DateTimeOffset? CurrentPeriodEnd { get; init; }
    public bool CancelAtPeriodEnd { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>When the trial ends (while the subscription is trialing; Stripe says so three days ahead with <c>trial_will_end</c>).</summary>
    public DateTimeOffset? TrialEndsAt { get; init; }

    /// <summary>A payment that needs the customer (3-D Secure and the like): the invoice to open and pay.</summary>
    public PaymentAction? ActionRequired { get; init; }

    /// <summary>When the last payment failed (cleared by the next paid invoice).</summary>
    public DateTimeOffset? PaymentFailedAt { get; init; }

    /// <summary>When the last invoice was paid: payment notices of earlier events do not come back after it.</summary>
    public DateTimeOffset? LastPaidAt { get; init; }

    public static SubscriptionState Free(string userId) => new(userId, BillingOptions.FreePlan, "none");
}

/// <summary>An invoice the customer must act on, and where: Stripe's hosted invoice page.</summary>
public sealed record PaymentAction(string InvoiceId, string? HostedInvoiceUrl, DateTimeOffset At);

/// <summary>A subscription as Stripe reports it now.</summary>
public sealed record StripeSubscription(string Id, string CustomerId, string Status, string? PriceId, DateTimeOffset? CurrentPeriodEnd, bool CancelAtPeriodEnd, string? UserId)
{
    public DateTimeOffset? TrialEnd { get; init; }

    /// <summary>The quantity of its item: an organization's seats.</summary>
    public int? Seats { get; init; }
}

/// <summary>What a webhook event points at, once its signature is verified.</summary>
public sealed record BillingEvent(string Id, string Type, string? SubscriptionId, string? CustomerId, string? UserId)
{
    /// <summary>When Stripe created the event (its lag is measured against this).</summary>
    public DateTimeOffset? Created { get; init; }

    /// <summary>For invoice events: the invoice, and its hosted page (where the customer pays or authenticates).</summary>
    public string? InvoiceId { get; init; }
    public string? HostedInvoiceUrl { get; init; }
}

public sealed record WebhookOutcome(string EventId, string Type, bool AlreadyApplied, string? UserId, string? Plan);

/// <summary>What a user uses now, against each of the plan's limits.</summary>
public sealed record CurrentUsage(Chat.UsageTotals Today, Chat.UsageTotals ThisMonth, int Files, long StorageBytes, long Memories, long Records, long PassagesThisMonth)
{
    /// <summary>Calls of SmartApp's tools today (UTC), in chat and through MCP.</summary>
    public long ToolCallsToday { get; init; }
}
