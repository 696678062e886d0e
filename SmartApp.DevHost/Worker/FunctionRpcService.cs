using Grpc.Core;
using SmartApp.DevHost.Rpc;

namespace SmartApp.DevHost.Worker;

/// <summary>The gRPC endpoint a worker dials: one bidirectional event stream per worker process.</summary>
public sealed class FunctionRpcService(WorkerSupervisor supervisor) : FunctionRpc.FunctionRpcBase
{
    public override async Task EventStream(IAsyncStreamReader<StreamingMessage> requestStream, IServerStreamWriter<StreamingMessage> responseStream, ServerCallContext context)
    {
        if (!await requestStream.MoveNext(context.CancellationToken) || requestStream.Current.StartStream is not { } start)
            throw new Grpc.Core.RpcException(new Status(StatusCode.InvalidArgument, "The first message must be StartStream."));
        var connection = supervisor.Attach(start.WorkerId)
            ?? throw new Grpc.Core.RpcException(new Status(StatusCode.PermissionDenied, $"Unknown worker id {start.WorkerId}."));

        var writer = Task.Run(async () =>
        {
            await foreach (var message in connection.Outbound.ReadAllAsync(context.CancellationToken))
                await responseStream.WriteAsync(message, context.CancellationToken);
        }, context.CancellationToken);

        try
        {
            connection.OnMessage(requestStream.Current);
            while (await requestStream.MoveNext(context.CancellationToken))
                connection.OnMessage(requestStream.Current);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The worker went away or the host is stopping.
        }
        finally
        {
            connection.Close("the worker's event stream ended");
        }
        try { await writer; } catch (OperationCanceledException) { } catch (InvalidOperationException) { }
    }
}
