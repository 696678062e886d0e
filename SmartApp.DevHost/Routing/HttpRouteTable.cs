using System.Text.Json;
using Microsoft.AspNetCore.Routing.Template;

namespace SmartApp.DevHost.Routing;

/// <summary>An HTTP-triggered function: its route template (with the host's prefix) and methods.</summary>
public sealed record HttpRoute(string FunctionName, string FunctionId, string TriggerParameter, string Template, IReadOnlySet<string> Methods)
{
    internal RouteTemplate Parsed { get; } = TemplateParser.Parse(Template);
    internal TemplateMatcher Matcher { get; } = new(TemplateParser.Parse(Template), new RouteValueDictionary());
}

/// <summary>The result of matching a request: the function and the route values it binds.</summary>
public sealed record RouteMatch(HttpRoute Route, RouteValueDictionary Values);

/// <summary>
/// Matches requests to HTTP functions as the Functions host does: templates under host.json's
/// <c>routePrefix</c>, tried in the order of their functions' names (case-insensitive: the host's
/// <c>FunctionMetadataManager</c> sorts them so, and its route collection takes the first match, with no
/// precedence of literal over parameter segments), methods checked per route. A route that an earlier
/// one would take is reported in <see cref="Shadowed"/>: it would not answer under the host either.
/// </summary>
public sealed class HttpRouteTable
{
    private readonly List<HttpRoute> _routes;

    public HttpRouteTable(IEnumerable<HttpRoute> routes)
    {
        _routes = routes.OrderBy(r => r.FunctionName, StringComparer.OrdinalIgnoreCase).ToList();
        Shadowed = FindShadowed(_routes);
    }

    public IReadOnlyList<HttpRoute> Routes => _routes;

    /// <summary>Each route that a route tried before it takes (for some of its paths and methods), described for a start-up error.</summary>
    public IReadOnlyList<string> Shadowed { get; }

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

    private static List<string> FindShadowed(List<HttpRoute> ordered)
    {
        var shadowed = new List<string>();
        for (var i = 0; i < ordered.Count; i++)
        {
            var route = ordered[i];
            var sample = SamplePath(route);
            var earlier = ordered.Take(i).FirstOrDefault(e => SharesAMethod(e, route) && e.Matcher.TryMatch(sample, new RouteValueDictionary()));
            if (earlier is not null)
                shadowed.Add($"{route.FunctionName} (/{route.Template}) is shadowed by {earlier.FunctionName} (/{earlier.Template}): the host tries functions in the order of their names and takes the first route that matches, so {sample} would go to {earlier.FunctionName}");
        }
        return shadowed;
    }

    /// <summary>A path the route matches: its literal segments, and a placeholder for each parameter.</summary>
    private static PathString SamplePath(HttpRoute route) =>
        new("/" + string.Join('/', route.Parsed.Segments.Select(segment => string.Concat(segment.Parts.Select(part => part.IsLiteral ? part.Text : "x1")))));

    private static bool SharesAMethod(HttpRoute a, HttpRoute b) => a.Methods.Count == 0 || b.Methods.Count == 0 || a.Methods.Overlaps(b.Methods);

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
