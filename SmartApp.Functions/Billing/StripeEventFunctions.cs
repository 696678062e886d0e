using Microsoft.Azure.Functions.Worker;
using SmartApp.Domain.Billing;

namespace SmartApp.Functions.Billing;

/// <summary>Events missed while the webhook was down, read from Stripe's events list: the host runs one look at a time across every instance.</summary>
public sealed class StripeEventRecoveryFunctions(BillingService billing)
{
    [Function("RecoverStripeEvents")]
    public Task Recover([TimerTrigger("%Billing:EventRecoverySchedule%")] TimerInfo timer, FunctionContext context) =>
        billing.RecoverMissedEventsAsync(context.CancellationToken);
}
