using Microsoft.Azure.Functions.Worker;
using SmartApp.Domain.Common.Raindrop;

namespace SmartApp.Functions.Raindrop;

/// <summary>The Raindrop mirror's tick: the host runs one at a time across every instance (its timer singleton).</summary>
public sealed class MirrorFunctions(RaindropMirror mirror)
{
    [Function("MirrorToRaindrop")]
    public Task Tick([TimerTrigger("%Raindrop:MirrorSchedule%")] TimerInfo timer, FunctionContext context) =>
        mirror.TickAsync(context.CancellationToken);
}
