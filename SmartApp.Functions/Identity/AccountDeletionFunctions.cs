using Microsoft.Azure.Functions.Worker;
using SmartApp.Domain.Common.Storage;
using SmartApp.Domain.Identity;

namespace SmartApp.Functions.Identity;

/// <summary>
/// Account deletion on the <see cref="WorkQueues.AccountDeletion"/> queue: each attempt a delivery of the
/// message, a deletion the host gave up on failed with its reason (visible at <c>/api/me/deletions/{id}</c>),
/// and a timer that sends again the message of a deletion left waiting.
/// </summary>
public sealed class AccountDeletionFunctions(AccountService accounts)
{
    [Function("DeleteAccount")]
    public Task Delete([QueueTrigger(WorkQueues.AccountDeletion)] string message, FunctionContext context) =>
        accounts.ProcessDeletionAsync(message, context.CancellationToken);

    [Function("DeleteAccountPoisoned")]
    public Task GiveUp([QueueTrigger(WorkQueues.AccountDeletion + WorkQueues.PoisonSuffix)] string message, FunctionContext context) =>
        accounts.GiveUpDeletionAsync(message, context.CancellationToken);

    [Function("SweepAccountDeletions")]
    public Task Sweep([TimerTrigger("0 */2 * * * *")] TimerInfo timer, FunctionContext context) =>
        accounts.ResendStalledAsync(context.CancellationToken);
}
