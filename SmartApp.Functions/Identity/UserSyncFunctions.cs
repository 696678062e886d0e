using Microsoft.Azure.Functions.Worker;
using SmartApp.Domain.Identity;

namespace SmartApp.Functions.Identity;

/// <summary>Users changed or deleted in WorkOS, read from its events list: the host runs one sync at a time across every instance.</summary>
public sealed class UserSyncFunctions(UserSync sync)
{
    [Function("SyncWorkOSUsers")]
    public Task Sync([TimerTrigger("%WorkOS:EventSyncSchedule%")] TimerInfo timer, FunctionContext context) =>
        sync.SyncAsync(context.CancellationToken);
}
