using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using SmartApp.Domain.Billing;
using SmartApp.Domain.Common.Errors;
using SmartApp.Functions.Http;

namespace SmartApp.Functions.Billing;

/// <summary>Stripe's events: its webhook deliveries, and a timer that finds in its events list those the webhook never received.</summary>
public sealed class StripeEventFunctions(StripeWebhooks webhooks)
{
    private const int MaxWebhookBytes = 512 * 1024;

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
            var outcome = await webhooks.HandleWebhookAsync(body, req.Headers["Stripe-Signature"], req.HttpContext.RequestAborted).ConfigureAwait(false);
            return new OkObjectResult(new WebhookReceived(true, outcome.EventId, outcome.AlreadyApplied));
        }
        catch (UpstreamUnavailableException ex)
        {
            var problem = ProblemWriter.ToProblemDetails(ProblemTypes.From(ex), req.HttpContext);
            problem.Status = StatusCodes.Status500InternalServerError;
            return new ObjectResult(problem) { StatusCode = StatusCodes.Status500InternalServerError, ContentTypes = { ProblemWriter.ContentType } };
        }
    }

    /// <summary>Events missed while the webhook was down, read from Stripe's events list: the host runs one look at a time across every instance.</summary>
    [Function("RecoverStripeEvents")]
    public Task Recover([TimerTrigger("%Billing:EventRecoverySchedule%")] TimerInfo timer, FunctionContext context) =>
        webhooks.RecoverMissedEventsAsync(context.CancellationToken);

    public sealed record WebhookReceived(bool Received, string EventId, bool AlreadyApplied);
}
