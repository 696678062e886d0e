using SmartApp.DevHost.Rpc;
using SmartApp.DevHost.Worker;

namespace SmartApp.DevHost.Triggers;

/// <summary>
/// One invocation of a queue- or timer-triggered function, as the host runs it: counted as the instance's
/// work (for the drain and the idle clock), on a ready worker, limited by <c>functionTimeout</c> (the
/// worker restarted on a breach); a lost worker or one that never became ready is a failed invocation.
/// </summary>
public static class TriggerInvocation
{
    public static async Task<(bool Succeeded, string Outcome)> RunAsync(
        WorkerSupervisor workers, string functionName, Func<string, InvocationRequest> build, CancellationToken stopping)
    {
        workers.BeginRequest();
        try
        {
            var (worker, _) = await workers.GetReadyAsync(stopping);
            var invocationId = Guid.NewGuid().ToString();
            var invocation = worker.Invoke(build(invocationId));
            using var timeout = workers.WatchFunctionTimeout(worker, invocation, functionName, invocationId);
            var response = await invocation;
            return response.Result?.Status == StatusResult.Types.Status.Success
                ? (true, $"succeeded on {worker.Label}")
                : (false, $"failed on {worker.Label}: {response.Result?.Exception?.Message}");
        }
        catch (Exception ex) when (ex is WorkerUnavailableException or TimeoutException)
        {
            return (false, $"failed: {ex.Message}");
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return (false, "not run: the host is stopping");
        }
        finally
        {
            workers.EndRequest();
        }
    }
}
