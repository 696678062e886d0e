using Microsoft.AspNetCore.HttpsPolicy;
using Microsoft.Extensions.Options;

namespace SmartApp.DevHost;

/// <summary>
/// The Functions host's middleware in front of an invocation, in its order
/// (<c>WebJobsApplicationBuilderExtension</c>): CORS (Core Tools' from local.settings.json), the front end's
/// headers and the host's fix-up in Azure, the HTTP throttle, then host.json's custom headers and HSTS.
/// </summary>
public static class HostPipeline
{
    public static void UseFunctionsHostPipeline(this IApplicationBuilder app, DevHostOptions options, HostSettings host)
    {
        if (AppSettings.Cors(options.SettingsFile) is { Origins: { } origins, Credentials: var credentials })
        {
            // Core Tools' CORS from local.settings.json's Host section (in Azure: the site's platform CORS): preflights
            // answered here, the allowed origin and credentials echoed on responses.
            app.UseCors(policy =>
            {
                if (origins.Contains("*")) policy.AllowAnyOrigin();
                else policy.WithOrigins([.. origins]);
                policy.AllowAnyHeader().AllowAnyMethod();
                if (credentials && !origins.Contains("*")) policy.AllowCredentials();
            });
        }

        if (options.Azure)
        {
            var hostName = AzurePlatform.HostName(options.SettingsFile);
            app.Use((context, next) =>
            {
                AzurePlatform.ApplyFrontEnd(context, hostName);
                return next(context);
            });
        }
        if (host.Throttled)
        {
            var throttle = new HttpThrottle(host.MaxConcurrentRequests, host.MaxOutstandingRequests, app.ApplicationServices.GetRequiredService<HostAnswers>());
            app.Use(throttle.InvokeAsync);
        }
        if (host.CustomHeaders is { Count: > 0 } headers)
        {
            // CustomHttpHeadersMiddleware: added as the response starts, where the function did not set them.
            app.Use((context, next) =>
            {
                context.Response.OnStarting(() =>
                {
                    foreach (var (name, value) in headers) context.Response.Headers.TryAdd(name, value);
                    return Task.CompletedTask;
                });
                return next(context);
            });
        }
        if (host.Hsts is { } hsts)
        {
            // HstsConfigurationMiddleware: ASP.NET Core's HSTS, which answers only https requests (in Azure, after the fix-up).
            app.Use(next => new HstsMiddleware(next, Options.Create<HstsOptions>(hsts), app.ApplicationServices.GetRequiredService<ILoggerFactory>()).Invoke);
        }
    }
}

/// <summary>
/// host.json's <c>maxConcurrentRequests</c> and <c>maxOutstandingRequests</c> as the host's
/// <c>HttpRequestQueue</c> applies them: at most the first run at once, at most the second running or
/// waiting; one more is refused with 429.
/// </summary>
public sealed class HttpThrottle(int maxConcurrent, int maxOutstanding, HostAnswers answers)
{
    private readonly SemaphoreSlim? _running = maxConcurrent == HostSettings.Unbounded ? null : new(maxConcurrent, maxConcurrent);
    private int _outstanding;

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (Interlocked.Increment(ref _outstanding) > maxOutstanding && maxOutstanding != HostSettings.Unbounded)
        {
            Interlocked.Decrement(ref _outstanding);
            await answers.ThrottledAsync(context);
            return;
        }
        try
        {
            if (_running is not null) await _running.WaitAsync(context.RequestAborted);
            try { await next(context); }
            finally { _running?.Release(); }
        }
        finally
        {
            Interlocked.Decrement(ref _outstanding);
        }
    }
}
