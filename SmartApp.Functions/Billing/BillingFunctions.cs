using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using SmartApp.Domain.Billing;
using SmartApp.Domain.Identity;
using SmartApp.Functions.Http;

namespace SmartApp.Functions.Billing;

/// <summary>Plans, Stripe Checkout and portal, and the subscription (the OpenAPI document's "Billing" tag; Stripe's webhook is <see cref="StripeEventFunctions"/>).</summary>
public sealed class BillingFunctions(BillingService billing)
{
    [Function("BillingPlans"), AllowAnonymous]
    public IActionResult Plans([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "billing/plans")] HttpRequest req) =>
        new OkObjectResult(new PlanList(billing.Plans.Select(p => new PlanResponse(p.Key.ToLowerInvariant(), p.Value.Name, p.Value.MonthlyPriceCents, p.Value.Entitlements)).ToList()));

    [Function("BillingCheckout")]
    public async Task<IActionResult> Checkout([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "billing/checkout")] HttpRequest req)
    {
        var body = await req.ReadJsonAsync<CheckoutRequest>().ConfigureAwait(false);
        var url = await billing.CheckoutAsync(req.CurrentUser(), req.Query[SpaceAccess.Parameter], body.Plan, body.Seats, body.SuccessUrl, body.CancelUrl, AppOrigin(req), req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new RedirectResponse(url));
    }

    [Function("BillingPortal")]
    public async Task<IActionResult> Portal([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "billing/portal")] HttpRequest req)
    {
        var body = await req.ReadJsonAsync(whenEmpty: new PortalRequest(null)).ConfigureAwait(false);
        var url = await billing.PortalAsync(req.CurrentUser(), req.Query[SpaceAccess.Parameter], body.ReturnUrl, AppOrigin(req), req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new RedirectResponse(url));
    }

    [Function("BillingSubscription")]
    public async Task<IActionResult> Subscription([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "billing/subscription")] HttpRequest req)
    {
        var (state, entitlements, usage) = await billing.GetSubscriptionAsync(req.CurrentUser(), req.Query[SpaceAccess.Parameter], req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new SubscriptionResponse(state.Plan, state.Status, state.CurrentPeriodEnd, state.CancelAtPeriodEnd, state.TrialEndsAt,
            state.ActionRequired, state.PaymentFailedAt, entitlements, Space.Of(state.UserId).Kind, state.Seats,
            new UsageResponse(usage.Today.Messages, usage.Today.PromptTokens, usage.Today.CompletionTokens, usage.ThisMonth.Tokens, usage.Files, usage.StorageBytes,
                usage.Memories, usage.Records, usage.PassagesThisMonth, usage.ToolCallsToday)));
    }

    /// <summary>
    /// The origin the client reached the app on. Behind the Functions host the worker sees the host's own request:
    /// the client's host and scheme arrive as X-Forwarded-Host / X-Forwarded-Proto, which the host sets (it
    /// overwrites what a client sent), and the platform routes only the app's own host names to it.
    /// </summary>
    private static Uri AppOrigin(HttpRequest req)
    {
        var forwardedHost = req.Headers["X-Forwarded-Host"].ToString().Split(',')[0].Trim();
        var forwardedProto = req.Headers["X-Forwarded-Proto"].ToString().Split(',')[0].Trim();
        var scheme = forwardedProto is "http" or "https" ? forwardedProto : req.Scheme;
        if (forwardedHost.Length > 0 && Uri.TryCreate($"{scheme}://{forwardedHost}", UriKind.Absolute, out var forwarded)
            && forwarded.PathAndQuery == "/" && string.IsNullOrEmpty(forwarded.UserInfo))
            return new Uri(forwarded.GetLeftPart(UriPartial.Authority));
        return new Uri($"{scheme}://{req.Host}");
    }

    public sealed record CheckoutRequest(string? Plan, string? SuccessUrl, string? CancelUrl, int? Seats);

    public sealed record PortalRequest(string? ReturnUrl);

    public sealed record PlanList(IReadOnlyList<PlanResponse> Plans);

    public sealed record PlanResponse(string Id, string Name, int MonthlyPriceCents, PlanEntitlements Entitlements);

    /// <summary>Where to send the browser: Stripe Checkout or the customer portal.</summary>
    public sealed record RedirectResponse(Uri Url);

    public sealed record SubscriptionResponse(string Plan, string Status, DateTimeOffset? CurrentPeriodEnd, bool CancelAtPeriodEnd, DateTimeOffset? TrialEndsAt,
        PaymentAction? ActionRequired, DateTimeOffset? PaymentFailedAt, PlanEntitlements Entitlements, SpaceKind Space, int? Seats, UsageResponse Usage);

    /// <summary>What the user uses now, against each of the plan's limits.</summary>
    public sealed record UsageResponse(int MessagesToday, long PromptTokensToday, long CompletionTokensToday, long TokensThisMonth, int Files, long StorageBytes,
        long Memories, long Records, long PassagesThisMonth, long ToolCallsToday);
}
