using System.Reflection;
using Azure.Storage.Blobs;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using SmartApp.Domain.Common.Errors;
using SmartApp.Functions.Http;

namespace SmartApp.Functions.Console;

/// <summary>What client developers start from: the OpenAPI document and a web console to try the API in a browser.</summary>
public sealed class ConsoleFunctions(ApiDocument document, BlobServiceClient blobs)
{
    /// <summary>
    /// Only scripts, styles and data from this app, and connections to it and to its blob service (uploads go straight
    /// to storage through signed URLs); never framed.
    /// </summary>
    private readonly string _contentSecurityPolicy =
        $"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' {blobs.Uri.GetLeftPart(UriPartial.Authority)}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
    };

    [Function("OpenApiDocument"), AllowAnonymous]
    public async Task<IActionResult> OpenApi([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "openapi.json")] HttpRequest req)
    {
        req.HttpContext.Response.Headers.CacheControl = "public, max-age=300";
        return new ContentResult { Content = await document.JsonAsync().ConfigureAwait(false), ContentType = "application/json; charset=utf-8", StatusCode = 200 };
    }

    [Function("Console"), AllowAnonymous]
    public IActionResult Page([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "console")] HttpRequest req) => Asset(req, "index.html");

    [Function("ConsoleAsset"), AllowAnonymous]
    public IActionResult Asset([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "console/{asset}")] HttpRequest req, string asset)
    {
        // Only the embedded files, by exact name: nothing from disk, no path can climb out.
        if (!ContentTypes.TryGetValue(Path.GetExtension(asset), out var contentType)
            || Assembly.GetExecutingAssembly().GetManifestResourceStream("console/" + asset) is not { } stream)
            throw new NotFoundException("No such console file.");
        var headers = req.HttpContext.Response.Headers;
        headers.ContentSecurityPolicy = _contentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-cache";
        return new FileStreamResult(stream, contentType);
    }
}
