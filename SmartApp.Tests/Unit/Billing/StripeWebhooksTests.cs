using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Moq;
using SmartApp.Domain.Billing;
using SmartApp.Domain.Chat;
using SmartApp.Domain.Common.Storage;
using SmartApp.Domain.Identity;

namespace SmartApp.Tests.Unit;

/// <summary>Stripe's events in the orders Stripe delivers them (late, twice, out of order): the stored subscription ends as Stripe says it is now.</summary>
[Trait("Category", "Unit")]
public sealed class StripeWebhooksTests
{
    private const string UserId = "user_1", Customer = "cus_1", Subscription = "sub_1", Price = "price_pro_monthly";
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-11-01T10:00:00Z");

    private readonly FakeTimeProvider _clock = new(T0);
    private readonly InMemoryBillingStore _store = new();
    private readonly Mock<IStripeGateway> _stripe = new();
    private readonly Mock<IUserRepository> _users = new();
    private StripeSubscription _atStripe = new(Subscription, Customer, "active", Price, T0.AddDays(30), false, UserId);

    public StripeWebhooksTests()
    {
        _stripe.Setup(s => s.GetSubscriptionAsync(Subscription, It.IsAny<CancellationToken>())).ReturnsAsync(() => _atStripe);
        _users.Setup(u => u.FindAsync(UserId, It.IsAny<CancellationToken>()))
            .ReturnsAsync(new User(UserId, "user@example.com", "User", "free", "workos", T0, T0));
    }

    private StripeWebhooks Webhooks()
    {
        var options = Options.Create(new BillingOptions());
        var quotas = new PlanQuotas(_store, Mock.Of<IUsageStore>(), new MemoryCache(new MemoryCacheOptions()), options, _clock);
        return new StripeWebhooks(_stripe.Object, _store, Mock.Of<IProviderCheckpoints>(), _users.Object, quotas, options, _clock, NullLogger<StripeWebhooks>.Instance);
    }

    private static BillingEvent Event(string id, string type, DateTimeOffset created) =>
        new(id, type, Subscription, Customer, UserId) { Created = created, InvoiceId = type.StartsWith("invoice.", StringComparison.Ordinal) ? "in_" + id : null };

    [Fact]
    public async Task A_second_delivery_of_an_applied_event_changes_nothing_and_does_not_ask_stripe_again()
    {
        var webhooks = Webhooks();
        var first = await webhooks.ApplyAsync(Event("evt_1", "customer.subscription.created", T0.AddMinutes(-1)), default);
        _clock.Advance(TimeSpan.FromMinutes(1));
        var again = await webhooks.ApplyAsync(Event("evt_1", "customer.subscription.created", T0.AddMinutes(-1)), default);

        Assert.False(first.AlreadyApplied);
        Assert.True(again.AlreadyApplied);
        Assert.Equal("pro", _store.States[UserId].Plan);
        _stripe.Verify(s => s.GetSubscriptionAsync(Subscription, It.IsAny<CancellationToken>()), Times.Once);
        _users.Verify(u => u.SetPlanAsync(UserId, "pro", It.IsAny<CancellationToken>()), Times.Once);
    }

    [Fact]
    public async Task An_organizations_subscription_applies_to_its_billing_record_with_its_seats_and_none_is_written_for_an_organization_without_one()
    {
        const string Organization = "org_01ACME", Gone = "org_01GONE";
        await _store.UpsertAsync(SubscriptionState.Free(Organization), default); // written when its checkout started
        _atStripe = new StripeSubscription(Subscription, Customer, "active", Price, T0.AddDays(30), false, Organization) { Seats = 7 };

        var applied = await Webhooks().ApplyAsync(new BillingEvent("evt_org", "customer.subscription.created", Subscription, Customer, Organization) { Created = T0 }, default);

        Assert.Equal((Organization, "pro"), (applied.UserId, applied.Plan));
        Assert.Equal(("pro", 7), (_store.States[Organization].Plan, _store.States[Organization].Seats));
        _users.Verify(u => u.SetPlanAsync(It.IsAny<string>(), It.IsAny<string>(), It.IsAny<CancellationToken>()), Times.Never); // no user record to show it

        // An organization with no billing record here (never checked out, or its space deleted): a late event writes nothing.
        _atStripe = _atStripe with { UserId = Gone };
        var late = await Webhooks().ApplyAsync(new BillingEvent("evt_gone", "customer.subscription.updated", Subscription, null, Gone) { Created = T0 }, default);
        Assert.Null(late.Plan);
        Assert.False(_store.States.ContainsKey(Gone));
    }

    [Fact]
    public async Task A_created_event_delivered_after_the_deletion_leaves_the_subscription_deleted_as_stripe_says()
    {
        var webhooks = Webhooks();
        _atStripe = _atStripe with { Status = "canceled" }; // what Stripe says now: the subscription is over
        await webhooks.ApplyAsync(Event("evt_deleted", "customer.subscription.deleted", T0.AddMinutes(-1)), default);
        _clock.Advance(TimeSpan.FromMinutes(1));
        await webhooks.ApplyAsync(Event("evt_created", "customer.subscription.created", T0.AddMinutes(-5)), default);

        var state = _store.States[UserId];
        Assert.Equal("free", state.Plan);
        Assert.Equal("canceled", state.Status);
    }

    [Fact]
    public async Task A_payment_failure_older_than_the_last_payment_does_not_come_back_but_a_newer_one_does()
    {
        var webhooks = Webhooks();
        await webhooks.ApplyAsync(Event("evt_paid", "invoice.paid", T0.AddMinutes(-1)), default);
        _clock.Advance(TimeSpan.FromMinutes(1));
        await webhooks.ApplyAsync(Event("evt_old_failure", "invoice.payment_failed", T0.AddMinutes(-10)), default);

        Assert.Null(_store.States[UserId].PaymentFailedAt);
        Assert.Equal(T0.AddMinutes(-1), _store.States[UserId].LastPaidAt);

        _clock.Advance(TimeSpan.FromMinutes(1));
        await webhooks.ApplyAsync(Event("evt_new_failure", "invoice.payment_failed", T0.AddMinutes(1)), default);
        Assert.Equal(T0.AddMinutes(1), _store.States[UserId].PaymentFailedAt);
    }

    [Fact]
    public async Task A_redelivered_event_newer_than_the_stored_state_reads_stripe_again()
    {
        var webhooks = Webhooks();
        // The state is written at T0 from an event Stripe created later (its clock ahead, or the read raced the change).
        await webhooks.ApplyAsync(Event("evt_1", "customer.subscription.updated", T0.AddMinutes(2)), default);
        _atStripe = _atStripe with { CancelAtPeriodEnd = true };
        var again = await webhooks.ApplyAsync(Event("evt_1", "customer.subscription.updated", T0.AddMinutes(2)), default);

        Assert.True(again.AlreadyApplied);
        Assert.True(_store.States[UserId].CancelAtPeriodEnd);
        _stripe.Verify(s => s.GetSubscriptionAsync(Subscription, It.IsAny<CancellationToken>()), Times.Exactly(2));
    }

    [Fact]
    public async Task When_stripe_cannot_be_asked_nothing_is_recorded_so_the_next_delivery_applies_it()
    {
        var webhooks = Webhooks();
        _stripe.SetupSequence(s => s.GetSubscriptionAsync(Subscription, It.IsAny<CancellationToken>()))
            .ThrowsAsync(new SmartApp.Domain.Common.Errors.UpstreamUnavailableException("Stripe could not be reached; try again."))
            .ReturnsAsync(_atStripe);

        await Assert.ThrowsAsync<SmartApp.Domain.Common.Errors.UpstreamUnavailableException>(() => webhooks.ApplyAsync(Event("evt_1", "invoice.paid", T0), default));
        Assert.Empty(_store.Applied);
        Assert.False(_store.States.ContainsKey(UserId));

        var retried = await webhooks.ApplyAsync(Event("evt_1", "invoice.paid", T0), default);
        Assert.False(retried.AlreadyApplied);
        Assert.Equal("pro", _store.States[UserId].Plan);
        Assert.Contains("evt_1", _store.Applied);
    }

    [Fact]
    public async Task An_event_for_a_user_who_no_longer_exists_is_recorded_and_writes_nothing()
    {
        _users.Setup(u => u.FindAsync(UserId, It.IsAny<CancellationToken>())).ReturnsAsync((User?)null);

        var outcome = await Webhooks().ApplyAsync(Event("evt_1", "customer.subscription.created", T0), default);

        Assert.Null(outcome.UserId);
        Assert.Contains("evt_1", _store.Applied);
        Assert.False(_store.States.ContainsKey(UserId));
    }

    /// <summary>The billing store's contract in memory: subscriptions by user, and the set of applied events.</summary>
    private sealed class InMemoryBillingStore : IBillingStore
    {
        public ConcurrentDictionary<string, SubscriptionState> States { get; } = new();

        public ConcurrentDictionary<string, string> AppliedEvents { get; } = new();

        public IReadOnlyCollection<string> Applied => AppliedEvents.Keys.ToList();

        public Task<SubscriptionState?> FindAsync(string userId, CancellationToken cancellationToken) => Task.FromResult(States.GetValueOrDefault(userId));

        public Task UpsertAsync(SubscriptionState state, CancellationToken cancellationToken)
        {
            States[state.UserId] = state;
            return Task.CompletedTask;
        }

        public Task<string?> FindUserByCustomerAsync(string customerId, CancellationToken cancellationToken) =>
            Task.FromResult(States.Values.FirstOrDefault(s => s.StripeCustomerId == customerId)?.UserId);

        public Task<bool> IsAppliedAsync(string eventId, CancellationToken cancellationToken) => Task.FromResult(AppliedEvents.ContainsKey(eventId));

        public Task MarkAppliedAsync(string eventId, string type, CancellationToken cancellationToken)
        {
            AppliedEvents.TryAdd(eventId, type);
            return Task.CompletedTask;
        }
    }
}
