using System.Net;
using Microsoft.Azure.Cosmos;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Billing.Adapters.Cosmos;

/// <summary>The subscription beside the user record (container <c>users</c>, id <c>subscription</c>); applied events in <c>webhook-events</c> (partition <c>/id</c>).</summary>
public sealed class CosmosBillingStore(CosmosStore store, TimeProvider clock) : IBillingStore
{
    private const string SubscriptionId = "subscription";

    public async Task<SubscriptionState?> FindAsync(string userId, CancellationToken cancellationToken)
    {
        var container = await store.GetContainerAsync(CosmosContainers.Users, cancellationToken).ConfigureAwait(false);
        if ((await container.ReadOrNullAsync<SubscriptionDocument>(SubscriptionId, userId, cancellationToken).ConfigureAwait(false))?.Resource is not { } document)
            return null;
        return new SubscriptionState(document.UserId, document.Plan, document.Status)
        {
            StripeCustomerId = document.StripeCustomerId, StripeSubscriptionId = document.StripeSubscriptionId,
            CurrentPeriodEnd = document.CurrentPeriodEnd, CancelAtPeriodEnd = document.CancelAtPeriodEnd, UpdatedAt = document.UpdatedAt,
            TrialEndsAt = document.TrialEndsAt, ActionRequired = document.ActionRequired, PaymentFailedAt = document.PaymentFailedAt, LastPaidAt = document.LastPaidAt, Seats = document.Seats,
        };
    }

    public async Task UpsertAsync(SubscriptionState state, CancellationToken cancellationToken)
    {
        var container = await store.GetContainerAsync(CosmosContainers.Users, cancellationToken).ConfigureAwait(false);
        var document = new SubscriptionDocument(SubscriptionId, state.UserId, "subscription", state.Plan, state.Status, state.StripeCustomerId, state.StripeSubscriptionId,
            state.CurrentPeriodEnd, state.CancelAtPeriodEnd, state.UpdatedAt)
        {
            TrialEndsAt = state.TrialEndsAt, ActionRequired = state.ActionRequired, PaymentFailedAt = state.PaymentFailedAt, LastPaidAt = state.LastPaidAt, Seats = state.Seats,
        };
        await container.UpsertItemAsync(document, new PartitionKey(state.UserId), new ItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<string?> FindUserByCustomerAsync(string customerId, CancellationToken cancellationToken)
    {
        var container = await store.GetContainerAsync(CosmosContainers.Users, cancellationToken).ConfigureAwait(false);
        var query = new QueryDefinition("SELECT VALUE c.userId FROM c WHERE c.type = 'subscription' AND c.stripeCustomerId = @customer").WithParameter("@customer", customerId);
        using var iterator = container.GetItemQueryIterator<string>(query);
        while (iterator.HasMoreResults)
            foreach (var userId in await iterator.ReadNextAsync(cancellationToken).ConfigureAwait(false))
                return userId;
        return null;
    }

    public async Task<bool> IsAppliedAsync(string eventId, CancellationToken cancellationToken)
    {
        var container = await store.GetContainerAsync(CosmosContainers.WebhookEvents, cancellationToken).ConfigureAwait(false);
        return await container.ReadOrNullAsync<AppliedEvent>(eventId, eventId, cancellationToken).ConfigureAwait(false) is not null;
    }

    public async Task MarkAppliedAsync(string eventId, string type, CancellationToken cancellationToken)
    {
        var container = await store.GetContainerAsync(CosmosContainers.WebhookEvents, cancellationToken).ConfigureAwait(false);
        try
        {
            await container.CreateItemAsync(new AppliedEvent(eventId, type, clock.GetUtcNow()), new PartitionKey(eventId),
                new ItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken).ConfigureAwait(false);
        }
        catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
        {
            // Applied by a concurrent delivery of the same event.
        }
    }

    private sealed record SubscriptionDocument(string Id, string UserId, string Type, string Plan, string Status, string? StripeCustomerId, string? StripeSubscriptionId,
        DateTimeOffset? CurrentPeriodEnd, bool CancelAtPeriodEnd, DateTimeOffset UpdatedAt)
    {
        public DateTimeOffset? TrialEndsAt { get; init; }
        public PaymentAction? ActionRequired { get; init; }
        public DateTimeOffset? PaymentFailedAt { get; init; }
        public DateTimeOffset? LastPaidAt { get; init; }
        public int? Seats { get; init; }
    }

    private sealed record AppliedEvent(string Id, string Type, DateTimeOffset AppliedAt);
}
