namespace SmartApp.Domain.Billing;

/// <summary>Stripe's API, as billing uses it.</summary>
public interface IStripeGateway
{
    /// <summary>Verifies the signature on the raw body and reads the event; a bad signature, a stale timestamp or a body that is not an event is a 400.</summary>
    BillingEvent ParseWebhook(string body, string? signatureHeader);

    Task<StripeSubscription> GetSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken);

    /// <summary>The events of <paramref name="types"/> Stripe created at or after <paramref name="since"/>, oldest first (its events list, every page).</summary>
    Task<IReadOnlyList<BillingEvent>> ListEventsAsync(DateTimeOffset since, IEnumerable<string> types, CancellationToken cancellationToken);

    /// <summary>A Checkout session subscribing <paramref name="ownerId"/> (a user, or an organization for <paramref name="seats"/> seats: the quantity).</summary>
    Task<Uri> CreateCheckoutAsync(string ownerId, string? email, string? customerId, string priceId, int seats, string successUrl, string cancelUrl, CancellationToken cancellationToken);

    Task<Uri> CreatePortalAsync(string customerId, string returnUrl, CancellationToken cancellationToken);
}

/// <summary>Subscriptions (container <c>users</c>, one item per user) and the record of applied webhook events (container <c>webhook-events</c>).</summary>
public interface IBillingStore
{
    Task<SubscriptionState?> FindAsync(string userId, CancellationToken cancellationToken);

    Task UpsertAsync(SubscriptionState state, CancellationToken cancellationToken);

    /// <summary>The user whose Stripe customer this is, if known.</summary>
    Task<string?> FindUserByCustomerAsync(string customerId, CancellationToken cancellationToken);

    Task<bool> IsAppliedAsync(string eventId, CancellationToken cancellationToken);

    /// <summary>Records the event as applied (a second record of the same event is a no-op).</summary>
    Task MarkAppliedAsync(string eventId, string type, CancellationToken cancellationToken);
}
