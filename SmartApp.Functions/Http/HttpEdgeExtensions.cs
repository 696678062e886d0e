using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmartApp.Domain.Common;
using SmartApp.Functions.Diagnostics;

namespace SmartApp.Functions.Http;

internal static class HttpEdgeExtensions
{
    /// <summary>
    /// The HTTP edge: the worker middleware (correlation id, then errors to ProblemDetails, then
    /// authentication, then the per-user rate limit, then Idempotency-Key), applied to HTTP-triggered functions, and the JSON shape of responses.
    /// </summary>
    public static FunctionsApplicationBuilder AddHttpEdge(this FunctionsApplicationBuilder builder)
    {
        builder.UseWhen<CorrelationId>(IsHttp);
        builder.UseWhen<ProblemDetailsMiddleware>(IsHttp);
        builder.UseWhen<AuthenticationMiddleware>(IsHttp);
        builder.UseWhen<RateLimitMiddleware>(IsHttp);
        builder.UseWhen<IdempotencyMiddleware>(IsHttp);
        builder.Services.AddSingleton<SmartApp.Domain.Common.Idempotency.IdempotencyStore>();

        // Per-request framework chatter stays out of the logs; the edge logs each request's outcome itself.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        builder.Services.Configure<JsonOptions>(o =>
        {
            var defaults = JsonDefaults.Options;
            o.JsonSerializerOptions.PropertyNamingPolicy = defaults.PropertyNamingPolicy;
            o.JsonSerializerOptions.DefaultIgnoreCondition = defaults.DefaultIgnoreCondition;
            o.JsonSerializerOptions.MaxDepth = defaults.MaxDepth;
            foreach (var converter in defaults.Converters) o.JsonSerializerOptions.Converters.Add(converter);
        });
        builder.Services.AddOptions<RateLimitOptions>().Bind(builder.Configuration.GetSection(RateLimitOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<DiagnosticsOptions>().Bind(builder.Configuration.GetSection(DiagnosticsOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        return builder;
    }

    private static bool IsHttp(FunctionContext context) =>
        context.FunctionDefinition.InputBindings.Values.Any(b => string.Equals(b.Type, "httpTrigger", StringComparison.OrdinalIgnoreCase));
}
