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

    /// <summary>For the dev host's clock tests: sleeps, ignoring cancellation as careless code does, then answers.</summary>
    [Function("Sleep")]
    public async Task<IActionResult> Sleep([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "sleep")] HttpRequest req, FunctionContext context)
    {
        var seconds = double.Parse(req.Query["seconds"].FirstOrDefault() ?? "1", System.Globalization.CultureInfo.InvariantCulture);
        context.GetLogger("Sleep").LogInformation("Sleep started for {Seconds} s", seconds);
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        context.GetLogger("Sleep").LogInformation("Sleep finished after {Seconds} s", seconds);
        return new OkObjectResult(new { slept = seconds });
    }

    /// <summary>For the dev host's failure tests: the worker process exits mid-request with the given code.</summary>
    [Function("Exit")]
    public IActionResult Exit([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "exit")] HttpRequest req)
    {
        Environment.Exit(int.Parse(req.Query["code"].FirstOrDefault() ?? "3", System.Globalization.CultureInfo.InvariantCulture));
        return new OkResult();
    }

    /// <summary>For the dev host's scale-in test: answers at once and keeps working in the background, logging each step.</summary>
    [Function("Background")]
    public IActionResult Background([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "background")] HttpRequest req, FunctionContext context)
    {
        var logger = context.GetLogger("Background");
        var seconds = int.Parse(req.Query["seconds"].FirstOrDefault() ?? "5", System.Globalization.CultureInfo.InvariantCulture);
        _ = Task.Run(async () =>
        {
            for (var step = 1; step <= seconds * 2; step++)
            {
                await Task.Delay(500);
                logger.LogInformation("Background step {Step}", step);
            }
            logger.LogInformation("Background work finished");
        });
        return new AcceptedResult();
    }

    /// <summary>For the dev host's header and environment tests: what the request and the process look like from inside.</summary>
    [Function("Echo")]
    public IActionResult Echo([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "echo")] HttpRequest req) =>
        new OkObjectResult(new
        {
            pid = Environment.ProcessId,
            scheme = req.Scheme,
            host = req.Host.Value,
            headers = req.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()),
            environment = new[] { "AZURE_FUNCTIONS_ENVIRONMENT", "WEBSITE_HOSTNAME", "WEBSITE_SKU", "WEBSITE_INSTANCE_ID", "AzureWebJobsScriptRoot", "FUNCTIONS_WORKER_RUNTIME_VERSION" }
                .ToDictionary(name => name, name => Environment.GetEnvironmentVariable(name)),
        });

    /// <summary>For the dev host's routing tests: an inline constraint, and a function (later by name) that takes what it refuses.</summary>
    [Function("Item")]
    public IActionResult Item([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "items/{id:int}")] HttpRequest req, int id) =>
        new OkObjectResult(new { function = "Item", id });

    [Function("ItemByName")]
    public IActionResult ItemByName([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "items/{name}")] HttpRequest req, string name) =>
        new OkObjectResult(new { function = "ItemByName", name });

    [Function("Hello")]
    public IActionResult Hello([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "hello")] HttpRequest req) =>
        new OkObjectResult(new { message = "hello" });
}
