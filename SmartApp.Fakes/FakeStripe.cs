using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SmartApp.Fakes;

/// <summary>
/// Stripe's API on 127.0.0.1 (subscriptions, Checkout and portal sessions, in Stripe's JSON), and
/// events signed the way Stripe signs them (<c>t=…,v1=HMAC-SHA256(secret, "t.body")</c>).
/// </summary>
public sealed class FakeStripe : IAsyncDisposable
{
    public const string SecretKey = "sk_test_e2e";
    public const string WebhookSecret = "whsec_e2e_secret";
    public const string ProPrice = "price_pro_monthly";

    private readonly ConcurrentDictionary<string, JsonObject> _subscriptions = new();
    private WebApplication? _app;
    private int _failFetches;

    public string BaseUrl { get; private set; } = "";

    /// <summary>Form fields of every Checkout Session created.</summary>
    public ConcurrentQueue<Dictionary<string, string>> CheckoutSessions { get; } = new();

    /// <summary>The next this-many subscription reads answer 500.</summary>
    public void FailNextFetches(int count) => Volatile.Write(ref _failFetches, count);

    public static async Task<FakeStripe> StartAsync()
    {
        var fake = new FakeStripe();
        var (app, baseUrl) = await LoopbackServer.StartAsync(routes =>
        {
            routes.Use(async (context, next) =>
            {
                if (context.Request.Headers.Authorization.ToString() != $"Bearer {SecretKey}")
                {
                    context.Response.StatusCode = 401;
                    await context.Response.WriteAsJsonAsync(new { error = new { type = "invalid_request_error", message = "Invalid API Key provided" } });
                    return;
                }
                await next(context);
            });
            routes.MapGet("/v1/subscriptions/{id}", (string id) =>
            {
                if (Interlocked.Decrement(ref fake._failFetches) >= 0)
                    return Results.Json(new { error = new { type = "api_error", message = "Internal server error" } }, statusCode: 500);
                return fake._subscriptions.TryGetValue(id, out var subscription)
                    ? Results.Content(subscription.ToJsonString(), "application/json")
                    : Results.Json(new { error = new { type = "invalid_request_error", code = "resource_missing", message = $"No such subscription: '{id}'" } }, statusCode: 404);
            });
            routes.MapGet("/v1/events", (HttpRequest request) => fake.ListEvents(request));
            routes.MapPost("/v1/checkout/sessions", async (HttpRequest request) =>
            {
                var form = (await request.ReadFormAsync()).ToDictionary(f => f.Key, f => f.Value.ToString());
                // As Stripe: a subscription's line item needs a price and a positive whole quantity.
                if (string.IsNullOrEmpty(form.GetValueOrDefault("line_items[0][price]")))
                    return Results.Json(new { error = new { type = "invalid_request_error", param = "line_items[0][price]", message = "Missing required param: line_items[0][price]." } }, statusCode: 400);
                if (!int.TryParse(form.GetValueOrDefault("line_items[0][quantity]"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var quantity) || quantity < 1)
                    return Results.Json(new { error = new { type = "invalid_request_error", param = "line_items[0][quantity]", message = "Invalid integer: quantity must be at least 1." } }, statusCode: 400);
                fake.CheckoutSessions.Enqueue(form);
                var id = "cs_test_" + Guid.NewGuid().ToString("N");
                return Results.Json(new { id, @object = "checkout.session", mode = "subscription", url = $"https://checkout.stripe.test/c/pay/{id}", client_reference_id = form.GetValueOrDefault("client_reference_id") });
            });
            routes.MapPost("/v1/billing_portal/sessions", async (HttpRequest request) =>
            {
                var form = await request.ReadFormAsync();
                return Results.Json(new { id = "bps_" + Guid.NewGuid().ToString("N"), @object = "billing_portal.session", customer = form["customer"].ToString(), url = $"https://billing.stripe.test/p/session/{form["customer"]}" });
            });
        });
        fake._app = app;
        fake.BaseUrl = baseUrl;
        return fake;
    }

    /// <summary>Sets what Stripe says the subscription is now.</summary>
    /// <param name="legacyShape">The shape of API versions before 2025-03-31: the period end at the top level, not on the items.</param>
    public JsonObject SetSubscription(string id, string customer, string status, string? userId, string price = ProPrice, bool cancelAtPeriodEnd = false, DateTimeOffset? periodEnd = null,
        DateTimeOffset? trialEnd = null, bool legacyShape = false, int quantity = 1)
    {
        var end = (periodEnd ?? DateTimeOffset.UtcNow.AddDays(30)).ToUnixTimeSeconds();
        var item = new JsonObject { ["id"] = "si_" + id, ["object"] = "subscription_item", ["price"] = new JsonObject { ["id"] = price, ["object"] = "price" }, ["quantity"] = quantity };
        if (!legacyShape) item["current_period_end"] = end;
        var subscription = new JsonObject
        {
            ["id"] = id, ["object"] = "subscription", ["customer"] = customer, ["status"] = status, ["cancel_at_period_end"] = cancelAtPeriodEnd,
            ["metadata"] = userId is null ? new JsonObject() : new JsonObject { ["userId"] = userId },
            ["trial_end"] = trialEnd?.ToUnixTimeSeconds(),
            ["items"] = new JsonObject { ["object"] = "list", ["data"] = new JsonArray(item) },
        };
        if (legacyShape) subscription["current_period_end"] = end;
        _subscriptions[id] = subscription;
        return subscription;
    }

    /// <summary>
    /// An invoice as Stripe sends it in events: since API version 2025-03-31 its subscription is under
    /// <c>parent.subscription_details</c>; with <paramref name="legacyShape"/> it is the top-level <c>subscription</c>.
    /// </summary>
    public static JsonObject Invoice(string subscriptionId, string customer, string status, bool legacyShape = false, string? invoiceId = null)
    {
        var id = invoiceId ?? "in_" + Guid.NewGuid().ToString("N")[..14];
        var invoice = new JsonObject
        {
            ["id"] = id, ["object"] = "invoice", ["customer"] = customer, ["status"] = status, ["amount_due"] = 1900, ["currency"] = "usd",
            ["hosted_invoice_url"] = $"https://invoice.stripe.test/i/{id}",
        };
        if (legacyShape) invoice["subscription"] = subscriptionId;
        else invoice["parent"] = new JsonObject
        {
            ["type"] = "subscription_details",
            ["subscription_details"] = new JsonObject { ["subscription"] = subscriptionId, ["metadata"] = new JsonObject() },
        };
        return invoice;
    }

    private readonly List<JsonObject> _events = [];

    /// <summary>Times <c>GET /v1/events</c> was called.</summary>
    public int EventListReads => Volatile.Read(ref _eventListReads);

    private int _eventListReads;

    /// <summary>
    /// Creates an event at Stripe: it is in the events list from now on (<c>GET /v1/events</c>), and its delivery (body and
    /// signature) is returned for the test to send, or not, as Stripe does when the endpoint is up, or down.
    /// </summary>
    public (string Body, string Signature) Publish(string type, JsonObject dataObject, DateTimeOffset? created = null)
    {
        var delivery = Event(type, dataObject, created: created);
        lock (_events) _events.Add(JsonNode.Parse(delivery.Body)!.AsObject());
        return delivery;
    }

    private static readonly System.Text.RegularExpressions.Regex TypesParameter = new(@"^types\[\d+\]$");

    /// <summary>Stripe's events list: newest first, <c>created[gte]</c>, <c>types[]</c>, <c>limit</c> (1-100) and <c>starting_after</c>; other parameters are refused.</summary>
    private IResult ListEvents(HttpRequest request)
    {
        Interlocked.Increment(ref _eventListReads);
        var query = request.Query;
        foreach (var (name, _) in query)
            if (name is not ("created[gte]" or "limit" or "starting_after") && !TypesParameter.IsMatch(name))
                return Results.Json(new { error = new { type = "invalid_request_error", code = "parameter_unknown", param = name, message = $"Received unknown parameter: {name}" } }, statusCode: 400);
        var limit = query.TryGetValue("limit", out var l) && int.TryParse(l, out var n) ? n : 10;
        if (limit is < 1 or > 100) return Results.Json(new { error = new { type = "invalid_request_error", param = "limit", message = "Invalid integer" } }, statusCode: 400);
        var since = query.TryGetValue("created[gte]", out var g) && long.TryParse(g, out var seconds) ? seconds : 0;
        var types = query.Where(q => TypesParameter.IsMatch(q.Key)).Select(q => q.Value.ToString()).ToHashSet();
        List<JsonObject> matching;
        lock (_events)
            matching = [.. _events.Where(e => (long)e["created"]! >= since && (types.Count == 0 || types.Contains((string)e["type"]!))).Reverse()];
        if (query.TryGetValue("starting_after", out var after))
            matching = [.. matching.SkipWhile(e => (string?)e["id"] != after.ToString()).Skip(1)];
        var page = matching.Take(limit).Select(e => (JsonNode)e.DeepClone()).ToArray();
        return Results.Content(new JsonObject
        {
            ["object"] = "list", ["url"] = "/v1/events", ["has_more"] = matching.Count > limit, ["data"] = new JsonArray(page),
        }.ToJsonString(), "application/json");
    }

    /// <summary>An event as Stripe delivers it: its JSON body and its Stripe-Signature header.</summary>
    public static (string Body, string Signature) Event(string type, JsonObject dataObject, string? eventId = null, DateTimeOffset? signedAt = null, string secret = WebhookSecret,
        DateTimeOffset? created = null)
    {
        var body = new JsonObject
        {
            ["id"] = eventId ?? "evt_" + Guid.NewGuid().ToString("N"), ["object"] = "event", ["api_version"] = "2026-10-28.endive",
            ["created"] = (created ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds(), ["livemode"] = false, ["pending_webhooks"] = 1,
            ["request"] = new JsonObject { ["id"] = null, ["idempotency_key"] = null }, ["type"] = type,
            ["data"] = new JsonObject { ["object"] = JsonNode.Parse(dataObject.ToJsonString()) },
        }.ToJsonString();
        return (body, Sign(body, signedAt ?? DateTimeOffset.UtcNow, secret));
    }

    public static string Sign(string body, DateTimeOffset signedAt, string secret = WebhookSecret)
    {
        var timestamp = signedAt.ToUnixTimeSeconds();
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{body}"));
        return $"t={timestamp},v1={Convert.ToHexStringLower(signature)}";
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }
}
