using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Errors;
using SmartApp.Functions.Http;

namespace SmartApp.Functions.Diagnostics;

/// <summary>Diagnostics settings: section <c>Diagnostics</c>.</summary>
public sealed class DiagnosticsOptions
{
    public const string Section = "Diagnostics";

    /// <summary>Turns on <c>GET /api/diagnostics/fault</c>, a route that always fails. Off unless set (tests and local checks).</summary>
    [Required]
    public bool EnableFaultRoute { get; set; }
}

/// <summary>Routes that exist to prove how the app behaves, and the answer for routes that do not exist.</summary>
public sealed class DiagnosticsFunctions(IOptions<DiagnosticsOptions> options)
{
    /// <summary>Throws an exception whose message carries secret-looking text, to prove a client never sees it.</summary>
    [Function("DiagnosticsFault"), AllowAnonymous]
    public IActionResult Fault([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "diagnostics/fault")] HttpRequest req)
    {
        if (!options.Value.EnableFaultRoute) throw new NotFoundException($"No route matches GET {req.Path}.");
        throw new InvalidOperationException("Deliberate fault. AccountKey=c2VjcmV0LWtleS1uZXZlci1zaG93bg== at /srv/secret/path");
    }

    /// <summary>
    /// Every request that matches no other route: a 404 problem rather than an empty body. Named to sort last:
    /// the Functions host tries functions' routes in the order of their names (case-insensitive) and takes the
    /// first that matches, so a catch-all named before a real route would take that route's requests.
    /// </summary>
    [Function("ZzNoSuchRoute"), AllowAnonymous]
    public IActionResult NoSuchRoute(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "post", "put", "patch", "delete", "head", "options", Route = "{*path}")] HttpRequest req) =>
        throw new NotFoundException($"No route matches {req.Method} {req.Path}.");
}
