using System.Net;
using System.Net.Http;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Http;
using Stripe;

namespace SmartApp.Domain.Billing.Adapters.Stripe;

/// <summary>Stripe through Stripe.net, at a configurable API base; every failure to reach it is an upstream error, never Stripe's own text.</summary>
public sealed class StripeGateway : IStripeGateway
{
    private readonly IOptions<BillingOptions> _options;
    private readonly StripeClient _client;

    public StripeGateway(IHttpClientFactory httpClients, IOptions<BillingOptions> options)
    {
        _options = options;
        _client = new StripeClient(new StripeClientOptions
        {
            ApiKey = string.IsNullOrEmpty(options.Value.StripeSecretKey) ? "sk_unset" : options.Value.StripeSecretKey,
            ApiBase = options.Value.StripeApiBase.TrimEnd('/'),
            // One quick retry by the SDK (it knows Stripe-Should-Retry and sends an Idempotency-Key) of a connection error or 5xx.
            HttpClient = new SystemNetHttpClient(httpClients.CreateClient(BillingServiceCollectionExtensions.HttpClientName), maxNetworkRetries: 1),
        });
    }

    public BillingEvent ParseWebhook(string body, string? signatureHeader)
    {
        if (string.IsNullOrEmpty(_options.Value.StripeWebhookSecret))
            throw new UpstreamUnavailableException("Stripe webhooks are not configured (Billing:StripeWebhookSecret).");
        if (string.IsNullOrWhiteSpace(signatureHeader))
            throw new ValidationFailedException("Stripe-Signature", "The Stripe-Signature header is required.");
        Event stripeEvent;
        try
        {
            stripeEvent = EventUtility.ConstructEvent(body, signatureHeader, _options.Value.StripeWebhookSecret,
                (long)_options.Value.WebhookTolerance.TotalSeconds, throwOnApiVersionMismatch: false);
        }
        catch (StripeException ex) when (ex.Message.Contains("signature", StringComparison.OrdinalIgnoreCase) || ex.Message.Contains("timestamp", StringComparison.OrdinalIgnoreCase))
        {
            throw new ValidationFailedException("Stripe-Signature", "The signature does not match this body, or its timestamp is outside the tolerance.");
        }
        catch (Exception ex) when (ex is StripeException or System.Text.Json.JsonException or Newtonsoft.Json.JsonException or ArgumentException or InvalidOperationException)
        {
            throw new ValidationFailedException("body", "The body is not a Stripe event.");
        }
        if (string.IsNullOrEmpty(stripeEvent.Id) || string.IsNullOrEmpty(stripeEvent.Type))
            throw new ValidationFailedException("body", "The body is not a Stripe event.");

        return ToBillingEvent(stripeEvent, body);
    }

    public async Task<IReadOnlyList<BillingEvent>> ListEventsAsync(DateTimeOffset since, IEnumerable<string> types, CancellationToken cancellationToken) =>
        await CallAsync(async () =>
        {
            var options = new EventListOptions { Created = new DateRangeOptions { GreaterThanOrEqual = since.UtcDateTime }, Types = [.. types], Limit = 100 };
            var events = new List<BillingEvent>();
            await foreach (var stripeEvent in new EventService(_client).ListAutoPagingAsync(options, cancellationToken: cancellationToken).ConfigureAwait(false))
                events.Add(ToBillingEvent(stripeEvent, stripeEvent.RawJsonElement?.GetRawText() ?? "{}"));
            events.Reverse(); // Stripe lists newest first
            return (IReadOnlyList<BillingEvent>)events;
        }).ConfigureAwait(false);

    /// <summary>What an event points at, from its typed object (and its raw JSON, for fields older API versions put elsewhere).</summary>
    private static BillingEvent ToBillingEvent(Event stripeEvent, string json)
    {
        var created = stripeEvent.Created == default ? (DateTimeOffset?)null : new DateTimeOffset(DateTime.SpecifyKind(stripeEvent.Created, DateTimeKind.Utc));
        var billingEvent = stripeEvent.Data?.Object switch
        {
            global::Stripe.Checkout.Session session => new BillingEvent(stripeEvent.Id, stripeEvent.Type, session.SubscriptionId, session.CustomerId, session.ClientReferenceId),
            Subscription subscription => new BillingEvent(stripeEvent.Id, stripeEvent.Type, subscription.Id, subscription.CustomerId, subscription.Metadata?.GetValueOrDefault("userId")),
            // Invoices name their subscription under parent.subscription_details since API version 2025-03-31, at the top level before.
            Invoice invoice => new BillingEvent(stripeEvent.Id, stripeEvent.Type,
                invoice.Parent?.SubscriptionDetails?.SubscriptionId ?? LegacyInvoiceSubscription(json), invoice.CustomerId, invoice.Parent?.SubscriptionDetails?.Metadata?.GetValueOrDefault("userId"))
            {
                InvoiceId = invoice.Id, HostedInvoiceUrl = invoice.HostedInvoiceUrl,
            },
            Customer customer => new BillingEvent(stripeEvent.Id, stripeEvent.Type, null, customer.Id, customer.Metadata?.GetValueOrDefault("userId")),
            global::Stripe.Entitlements.ActiveEntitlementSummary summary => new BillingEvent(stripeEvent.Id, stripeEvent.Type, null, summary.Customer, null),
            _ => new BillingEvent(stripeEvent.Id, stripeEvent.Type, null, null, null),
        };
        return billingEvent with { Created = created };
    }

    /// <summary><c>data.object.subscription</c> of an invoice in the shape of API versions before 2025-03-31 (an id, or the expanded object).</summary>
    private static string? LegacyInvoiceSubscription(string body)
    {
        using var document = System.Text.Json.JsonDocument.Parse(body);
        if (!document.RootElement.TryGetProperty("data", out var data) || !data.TryGetProperty("object", out var invoice)
            || !invoice.TryGetProperty("subscription", out var subscription)) return null;
        return subscription.ValueKind switch
        {
            System.Text.Json.JsonValueKind.String => subscription.GetString(),
            System.Text.Json.JsonValueKind.Object when subscription.TryGetProperty("id", out var id) && id.ValueKind == System.Text.Json.JsonValueKind.String => id.GetString(),
            _ => null,
        };
    }

    public async Task<StripeSubscription> GetSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken)
    {
        var subscription = await CallAsync(() => new SubscriptionService(_client).GetAsync(subscriptionId, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var item = subscription.Items?.Data?.FirstOrDefault();
        // The period end is on the items since API version 2025-03-31 and at the top level before; never the Unix epoch.
        var periodEnd = Time(item?.CurrentPeriodEnd) ?? Time(TopLevelPeriodEnd(subscription));
        return new StripeSubscription(subscription.Id, subscription.CustomerId, subscription.Status, item?.Price?.Id, periodEnd,
            subscription.CancelAtPeriodEnd, subscription.Metadata?.GetValueOrDefault("userId"))
        {
            TrialEnd = Time(subscription.TrialEnd),
            Seats = item?.Quantity is > 0 and <= int.MaxValue ? (int)item.Quantity : null,
        };
    }

    private static long? TopLevelPeriodEnd(Subscription subscription) =>
        subscription.RawJsonElement is { ValueKind: System.Text.Json.JsonValueKind.Object } raw && raw.TryGetProperty("current_period_end", out var end) && end.TryGetInt64(out var seconds)
            ? seconds : null;

    private static DateTimeOffset? Time(DateTime? at) =>
        at is { } value && value > DateTime.UnixEpoch ? new DateTimeOffset(DateTime.SpecifyKind(value, DateTimeKind.Utc)) : null;

    private static DateTimeOffset? Time(long? unixSeconds) => unixSeconds is > 0 ? DateTimeOffset.FromUnixTimeSeconds(unixSeconds.Value) : null;

    public async Task<Uri> CreateCheckoutAsync(string ownerId, string? email, string? customerId, string priceId, int seats, string successUrl, string cancelUrl, CancellationToken cancellationToken)
    {
        var options = new global::Stripe.Checkout.SessionCreateOptions
        {
            Mode = "subscription",
            LineItems = [new global::Stripe.Checkout.SessionLineItemOptions { Price = priceId, Quantity = seats }],
            ClientReferenceId = ownerId,
            Customer = customerId,
            CustomerEmail = customerId is null ? email : null,
            SuccessUrl = successUrl,
            CancelUrl = cancelUrl,
            // "userId" names the owner (a user or an organization): subscriptions made before organizations carry it too.
            SubscriptionData = new global::Stripe.Checkout.SessionSubscriptionDataOptions { Metadata = new Dictionary<string, string> { ["userId"] = ownerId } },
        };
        var session = await CallAsync(() => new global::Stripe.Checkout.SessionService(_client).CreateAsync(options, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return new Uri(session.Url);
    }

    public async Task<Uri> CreatePortalAsync(string customerId, string returnUrl, CancellationToken cancellationToken)
    {
        var session = await CallAsync(() => new global::Stripe.BillingPortal.SessionService(_client)
            .CreateAsync(new global::Stripe.BillingPortal.SessionCreateOptions { Customer = customerId, ReturnUrl = returnUrl }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return new Uri(session.Url);
    }

    private async Task<T> CallAsync<T>(Func<Task<T>> call)
    {
        if (string.IsNullOrEmpty(_options.Value.StripeSecretKey))
            throw new UpstreamUnavailableException("Billing is not configured (Billing:StripeSecretKey).");
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (StripeException ex) when (ex.HttpStatusCode == HttpStatusCode.NotFound)
        {
            throw new NotFoundException("Stripe does not know this subscription or customer.");
        }
        catch (Exception ex) when (ex is StripeException || OutboundHttp.IsUnreachable(ex, CancellationToken.None))
        {
            throw new UpstreamUnavailableException("Stripe could not be reached; try again.", TimeSpan.FromSeconds(10), ex);
        }
    }
}
