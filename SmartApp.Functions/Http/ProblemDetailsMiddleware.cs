using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.Logging;

namespace SmartApp.Functions.Http;

/// <summary>Turns every exception from an HTTP function into a ProblemDetails response (see <see cref="ProblemTypes"/>).</summary>
internal sealed partial class ProblemDetailsMiddleware(ILogger<ProblemDetailsMiddleware> logger) : IFunctionsWorkerMiddleware
{
    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            var http = context.GetHttpContext()!;
            var root = Unwrap(exception);
            if (root is OperationCanceledException && http.RequestAborted.IsCancellationRequested)
            {
                LogClientGone(logger, context.FunctionDefinition.Name);
                return;
            }
            var problem = ProblemTypes.From(root);
            if (problem.Kind.Status >= StatusCodes.Status500InternalServerError)
                LogFailed(logger, root, context.FunctionDefinition.Name, problem.Kind.Status);
            else
                LogRefused(logger, context.FunctionDefinition.Name, problem.Kind.Status, problem.Kind.Type);
            if (http.Response.HasStarted)
            {
                // Headers are gone (a stream was under way): all that is left is to end it.
                http.Abort();
                return;
            }
            await ProblemWriter.WriteAsync(http, problem).ConfigureAwait(false);
        }
    }

    // The worker wraps a function's exception; the mapping is about what the function threw.
    private static Exception Unwrap(Exception exception)
    {
        while (exception is AggregateException { InnerExceptions.Count: 1 } or System.Reflection.TargetInvocationException && exception.InnerException is { } inner)
            exception = inner;
        while (exception.GetType().FullName == "Microsoft.Azure.Functions.Worker.FunctionInvocationException" && exception.InnerException is { } inner)
            exception = inner;
        return exception;
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Function {Function} failed; answered {Status}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string function, int status);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Function {Function} refused the request: {Status} {ProblemType}")]
    private static partial void LogRefused(ILogger logger, string function, int status, string problemType);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Function {Function}: the client went away")]
    private static partial void LogClientGone(ILogger logger, string function);
}
