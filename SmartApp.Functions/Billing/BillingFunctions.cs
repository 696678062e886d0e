using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using SmartApp.Domain.Billing;
using SmartApp.Domain.Common.Errors;
using SmartApp.Functions.Http;

namespace SmartApp.Functions.Billing;

/// <summary>Plans, Stripe Checkout and portal, the subscription, and Stripe's webhook (the OpenAPI document's "Billing" tag).</summary>
public sealed class BillingFunctions(BillingService billing)
{
    private const int MaxWebhookBytes = 512 * 1024;

    [Function("BillingPlans"), AllowAnonymous]
    public IActionResult Plans([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "billing/plans")] HttpRequest req) =>
        new OkObjectResult(new
        {
            plans = billing.Plans.Select(p => new { id = p.Key.ToLowerInvariant(), name = p.Value.Name, monthlyPriceCents = p.Value.MonthlyPriceCents, entitlements = p.Value.Entitlements }),
        });

    [Function("BillingCheckout")]
    public async Task<IActionResult> Checkout([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "billing/checkout")] HttpRequest req)
    {
        var body = await req.ReadJsonAsync<CheckoutRequest>().ConfigureAwait(false);
        var url = await billing.CheckoutAsync(req.CurrentUser(), body.Plan, body.SuccessUrl, body.CancelUrl, AppOrigin(req), req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new { url });
    }

    [Function("BillingPortal")]
    public async Task<IActionResult> Portal([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "billing/portal")] HttpRequest req)
    {
        var body = await req.ReadJsonAsync(whenEmpty: new PortalRequest(null)).ConfigureAwait(false);
        var url = await billing.PortalAsync(req.CurrentUser(), body.ReturnUrl, AppOrigin(req), req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new { url });
    }

    [Function("BillingSubscription")]
    public async Task<IActionResult> Subscription([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "billing/subscription")] HttpRequest req)
    {
        var (state, entitlements, usage) = await billing.GetSubscriptionAsync(req.CurrentUser(), req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new
        {
            plan = state.Plan, status = state.Status, currentPeriodEnd = state.CurrentPeriodEnd, cancelAtPeriodEnd = state.CancelAtPeriodEnd,
            trialEndsAt = state.TrialEndsAt,
            actionRequired = state.ActionRequired is { } action ? new { invoiceId = action.InvoiceId, hostedInvoiceUrl = action.HostedInvoiceUrl, at = action.At } : null,
            paymentFailedAt = state.PaymentFailedAt,
            entitlements,
            usage = new
            {
                messagesToday = usage.Today.Messages, promptTokensToday = usage.Today.PromptTokens, completionTokensToday = usage.Today.CompletionTokens,
                tokensThisMonth = usage.ThisMonth.Tokens, files = usage.Files, storageBytes = usage.StorageBytes, memories = usage.Memories, records = usage.Records, passagesThisMonth = usage.PassagesThisMonth,
            },
        });
    }

    /// <summary>
    /// Stripe's deliveries: the signature is checked on the raw body; 200 once the event is applied (or
    /// was before); 400 for a bad signature or body; 500 when Stripe could not be asked, so it delivers again.
    /// </summary>
    [Function("BillingWebhook"), AllowAnonymous]
    public async Task<IActionResult> Webhook([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "billing/webhook")] HttpRequest req)
    {
        var body = Encoding.UTF8.GetString(await req.ReadBodyAsync(MaxWebhookBytes, "A webhook body").ConfigureAwait(false));
        try
        {
            var outcome = await billing.HandleWebhookAsync(body, req.Headers["Stripe-Signature"], req.HttpContext.RequestAborted).ConfigureAwait(false);
            return new OkObjectResult(new { received = true, eventId = outcome.EventId, alreadyApplied = outcome.AlreadyApplied });
        }
        catch (UpstreamUnavailableException ex)
        {
            var problem = ProblemWriter.ToProblemDetails(ProblemTypes.From(ex), req.HttpContext);
            problem.Status = StatusCodes.Status500InternalServerError;
            return new ObjectResult(problem) { StatusCode = StatusCodes.Status500InternalServerError, ContentTypes = { ProblemWriter.ContentType } };
        }
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

    public sealed record CheckoutRequest(string? Plan, string? SuccessUrl, string? CancelUrl);

    public sealed record PortalRequest(string? ReturnUrl);
}
