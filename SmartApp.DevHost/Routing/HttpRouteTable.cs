using System.Text.Json;
using Microsoft.AspNetCore.Routing.Template;

namespace SmartApp.DevHost.Routing;

/// <summary>An HTTP-triggered function: its route template (with the host's prefix) and methods.</summary>
public sealed record HttpRoute(string FunctionName, string FunctionId, string TriggerParameter, string Template, IReadOnlySet<string> Methods)
{
    internal RouteTemplate Parsed { get; } = TemplateParser.Parse(Template);
    internal TemplateMatcher Matcher { get; } = new(TemplateParser.Parse(Template), new RouteValueDictionary());
    internal decimal Precedence { get; } = RoutePrecedence.ComputeInbound(TemplateParser.Parse(Template));
}

/// <summary>The result of matching a request: the function and the route values it binds.</summary>
public sealed record RouteMatch(HttpRoute Route, RouteValueDictionary Values);

/// <summary>
/// Matches requests to HTTP functions as the Functions host does: templates under host.json's
/// <c>routePrefix</c>, most specific first (ASP.NET Core's inbound precedence: literal segments
/// before parameters before catch-alls), methods checked per route.
/// </summary>
public sealed class HttpRouteTable
{
    private readonly List<HttpRoute> _routes;

    public HttpRouteTable(IEnumerable<HttpRoute> routes) =>
        _routes = routes.OrderBy(r => r.Precedence).ThenByDescending(r => r.Parsed.Segments.Count).ThenBy(r => r.Template, StringComparer.Ordinal).ToList();

    public IReadOnlyList<HttpRoute> Routes => _routes;

    public RouteMatch? Match(string method, PathString path)
    {
        foreach (var route in _routes)
        {
            if (route.Methods.Count > 0 && !route.Methods.Contains(method)) continue;
            var values = new RouteValueDictionary();
            if (route.Matcher.TryMatch(path, values)) return new RouteMatch(route, values);
        }
        return null;
    }

    /// <summary>The route of one function from its raw binding JSON, or null when it has no HTTP trigger.</summary>
    public static HttpRoute? FromBindings(string functionName, string functionId, IEnumerable<string> rawBindings, string routePrefix)
    {
        foreach (var raw in rawBindings)
        {
            using var binding = JsonDocument.Parse(raw);
            var root = binding.RootElement;
            if (!root.TryGetProperty("type", out var type) || !string.Equals(type.GetString(), "httpTrigger", StringComparison.OrdinalIgnoreCase))
                continue;
            var route = root.TryGetProperty("route", out var r) && r.GetString() is { Length: > 0 } given ? given : functionName;
            var template = string.IsNullOrEmpty(routePrefix) ? route : $"{routePrefix.Trim('/')}/{route.TrimStart('/')}";
            var methods = root.TryGetProperty("methods", out var m) && m.ValueKind == JsonValueKind.Array
                ? m.EnumerateArray().Select(x => x.GetString()!.ToUpperInvariant()).ToHashSet(StringComparer.OrdinalIgnoreCase)
                : new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var parameter = root.TryGetProperty("name", out var n) ? n.GetString() ?? "req" : "req";
            return new HttpRoute(functionName, functionId, parameter, template, methods);
        }
        return null;
    }
}
