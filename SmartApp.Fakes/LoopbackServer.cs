using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace SmartApp.Fakes;

/// <summary>What every fake third-party service starts from: a quiet web app on 127.0.0.1 at a free port.</summary>
internal static class LoopbackServer
{
    /// <summary>Starts an app with the routes <paramref name="map"/> adds (on <paramref name="port"/>, or any free one); answers it and its base URL (no trailing slash).</summary>
    public static async Task<(WebApplication App, string BaseUrl)> StartAsync(Action<WebApplication> map, int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return (app, app.Urls.Single().TrimEnd('/'));
    }
}
