using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
// The same log filter as SmartApp, so that both pay for the same logging.
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Build().Run();

public sealed class HelloFunctions
{
    [Function("Health")]
    public IActionResult Health([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest req) =>
        new OkObjectResult(new { status = "healthy" });

    // For the dev host's own tests: a function that fails outside any error-handling middleware,
    // and one that runs until it is cancelled.
    [Function("Fail")]
    public IActionResult Fail([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "fail")] HttpRequest req) =>
        throw new InvalidOperationException("internal detail: Password=hunter2");

    [Function("Slow")]
    public async Task<IActionResult> Slow([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "slow")] HttpRequest req, FunctionContext context)
    {
        var logger = context.GetLogger("Slow");
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(30), req.HttpContext.RequestAborted);
            return new OkObjectResult(new { finished = true });
        }
        catch (OperationCanceledException)
        {
            logger.LogWarning("Slow was cancelled by the client going away");
            throw;
        }
    }

    /// <summary>For the dev host's body-limit tests: reads the whole body and answers its length.</summary>
    [Function("Count")]
    public async Task<IActionResult> Count([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "count")] HttpRequest req)
    {
        long length = 0;
        var buffer = new byte[81920];
        int read;
        while ((read = await req.Body.ReadAsync(buffer, req.HttpContext.RequestAborted)) > 0) length += read;
        return new OkObjectResult(new { length });
    }

    [Function("Hello")]
    public IActionResult Hello([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "hello")] HttpRequest req) =>
        new OkObjectResult(new { message = "hello" });
}
