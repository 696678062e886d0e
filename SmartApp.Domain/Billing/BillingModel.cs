namespace SmartApp.Domain.Billing;

/// <summary>A user's subscription as SmartApp last saw it at Stripe.</summary>
public sealed record SubscriptionState(string UserId, string Plan, string Status)
{
    public string? StripeCustomerId { get; init; }
    public string? StripeSubscriptionId { get; init; }
    public DateTimeOffset? CurrentPeriodEnd { get; init; }
    public bool CancelAtPeriodEnd { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }

    public static SubscriptionState Free(string userId) => new(userId, BillingOptions.FreePlan, "none");
}

/// <summary>A subscription as Stripe reports it now.</summary>
public sealed record StripeSubscription(string Id, string CustomerId, string Status, string? PriceId, DateTimeOffset? CurrentPeriodEnd, bool CancelAtPeriodEnd, string? UserId);

/// <summary>What a webhook event points at, once its signature is verified.</summary>
public sealed record BillingEvent(string Id, string Type, string? SubscriptionId, string? CustomerId, string? UserId)
{
    /// <summary>When Stripe created the event (its lag is measured against this).</summary>
    public DateTimeOffset? Created { get; init; }
}

public sealed record WebhookOutcome(string EventId, string Type, bool AlreadyApplied, string? UserId, string? Plan);

/// <summary>What a user uses now, against each of the plan's limits.</summary>
public sealed record CurrentUsage(Chat.UsageTotals Today, Chat.UsageTotals ThisMonth, int Files, long StorageBytes, long Memories, long Records, long PassagesThisMonth);
