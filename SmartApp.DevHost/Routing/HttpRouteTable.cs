using System.Text.Json;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Extensions.Options;

namespace SmartApp.DevHost.Routing;

/// <summary>An HTTP-triggered function: its own route, the template it answers (with the host's prefix), and methods.</summary>
public sealed record HttpRoute(string FunctionName, string FunctionId, string TriggerParameter, string Template, IReadOnlySet<string> Methods, string? Route = null)
{
    internal RouteTemplate Parsed { get; } = TemplateParser.Parse(Template);
    internal TemplateMatcher Matcher { get; } = new(TemplateParser.Parse(Template), new RouteValueDictionary());

    /// <summary>The route as the function declares it (the host's <c>HttpTriggerAttribute.Route</c>).</summary>
    public string OwnRoute => Route ?? Template;
}

/// <summary>The result of matching a request: the function and the route values it binds.</summary>
public sealed record RouteMatch(HttpRoute Route, RouteValueDictionary Values);

/// <summary>
/// Matches requests to HTTP functions as the Functions host does: templates under host.json's
/// <c>routePrefix</c>, tried in the order of their functions' names (case-insensitive: the host's
/// <c>FunctionMetadataManager</c> sorts them so, and its route collection takes the first match, with no
/// precedence of literal over parameter segments), methods checked per route. A route that an earlier
/// one would take is reported in <see cref="Shadowed"/>: it would not answer under the host either.
/// Inline constraints (<c>{id:int}</c>) are enforced: a value that fails one does not match, and the next
/// route is tried. Routes the host refuses (<see cref="Refused"/>) are reported too.
/// </summary>
public sealed class HttpRouteTable
{
    private static readonly DefaultInlineConstraintResolver Constraints =
        new(Options.Create(new RouteOptions()), new ServiceCollection().BuildServiceProvider());

    private readonly List<(HttpRoute Route, List<(string Parameter, IRouteConstraint Constraint)> Constraints)> _routes;

    public HttpRouteTable(IEnumerable<HttpRoute> routes)
    {
        var ordered = routes.OrderBy(r => r.FunctionName, StringComparer.OrdinalIgnoreCase).ToList();
        var refused = new List<string>();
        _routes = ordered.Select(route => (route, ResolveConstraints(route, refused))).ToList();
        Refused = [.. FindRefused(ordered), .. refused];
        Shadowed = FindShadowed();
    }

    public IReadOnlyList<HttpRoute> Routes => _routes.Select(r => r.Route).ToList();

    /// <summary>Each route that a route tried before it takes (for some of its paths and methods), described for a start-up error.</summary>
    public IReadOnlyList<string> Shadowed { get; }

    /// <summary>
    /// Routes the host will not serve, described for a start-up error: one in the host's own space
    /// (<c>admin</c>, <c>runtime</c>), two functions with the same route and a method in common
    /// (<c>ScriptHost.ValidateHttpFunction</c> and <c>HttpRoutesConflict</c>), a constraint the host does not know.
    /// </summary>
    public IReadOnlyList<string> Refused { get; }

    public RouteMatch? Match(string method, PathString path)
    {
        foreach (var (route, constraints) in _routes)
        {
            if (route.Methods.Count > 0 && !route.Methods.Contains(method)) continue;
            var values = new RouteValueDictionary();
            if (route.Matcher.TryMatch(path, values)
                && constraints.All(c => c.Constraint.Match(null, null, c.Parameter, values, RouteDirection.IncomingRequest)))
                return new RouteMatch(route, values);
        }
        return null;
    }

    private static List<(string, IRouteConstraint)> ResolveConstraints(HttpRoute route, List<string> refused)
    {
        var resolved = new List<(string, IRouteConstraint)>();
        foreach (var parameter in route.Parsed.Parameters)
            foreach (var inline in parameter.InlineConstraints)
            {
                if (Constraints.ResolveConstraint(inline.Constraint) is { } constraint)
                    resolved.Add((parameter.Name!, constraint));
                else
                    refused.Add($"{route.FunctionName} (/{route.Template}): the constraint '{inline.Constraint}' of '{parameter.Name}' is not one the host knows");
            }
        return resolved;
    }

    private static IEnumerable<string> FindRefused(List<HttpRoute> routes)
    {
        for (var i = 0; i < routes.Count; i++)
        {
            var own = routes[i].OwnRoute.Trim('/');
            if (own.StartsWith("admin", StringComparison.OrdinalIgnoreCase) || own.StartsWith("runtime", StringComparison.OrdinalIgnoreCase))
                yield return $"{routes[i].FunctionName} (/{routes[i].Template}): the route conflicts with the host's built-in routes (admin, runtime)";
            for (var j = 0; j < i; j++)
                if (string.Equals(own, routes[j].OwnRoute.Trim('/'), StringComparison.OrdinalIgnoreCase) && SharesAMethod(routes[i], routes[j]))
                    yield return $"{routes[i].FunctionName} (/{routes[i].Template}): the route conflicts with the route defined by function '{routes[j].FunctionName}'";
        }
    }

    private List<string> FindShadowed()
    {
        var shadowed = new List<string>();
        for (var i = 0; i < _routes.Count; i++)
        {
            var (route, constraints) = _routes[i];
            var sample = SamplePath(route, constraints);
            var earlier = _routes.Take(i).FirstOrDefault(e => SharesAMethod(e.Route, route) && Matches(e, sample)).Route;
            if (earlier is not null)
                shadowed.Add($"{route.FunctionName} (/{route.Template}) is shadowed by {earlier.FunctionName} (/{earlier.Template}): the host tries functions in the order of their names and takes the first route that matches, so {sample} would go to {earlier.FunctionName}");
        }
        return shadowed;
    }

    private static bool Matches((HttpRoute Route, List<(string Parameter, IRouteConstraint Constraint)> Constraints) entry, PathString path)
    {
        var values = new RouteValueDictionary();
        return entry.Route.Matcher.TryMatch(path, values)
            && entry.Constraints.All(c => c.Constraint.Match(null, null, c.Parameter, values, RouteDirection.IncomingRequest));
    }

    private static readonly string[] SampleValues = ["x1", "1", "00000000-0000-0000-0000-000000000001", "true", "2026-01-01", "x"];

    /// <summary>A path the route matches: its literal segments, and for each parameter a value its own constraints accept.</summary>
    private static PathString SamplePath(HttpRoute route, List<(string Parameter, IRouteConstraint Constraint)> constraints)
    {
        string Sample(string parameter) => SampleValues.FirstOrDefault(value => constraints.Where(c => c.Parameter == parameter)
            .All(c => c.Constraint.Match(null, null, parameter, new RouteValueDictionary { [parameter] = value }, RouteDirection.IncomingRequest))) ?? "x1";
        return new("/" + string.Join('/', route.Parsed.Segments.Select(segment => string.Concat(segment.Parts.Select(part => part.IsLiteral ? part.Text : Sample(part.Name!))))));
    }

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
            return new HttpRoute(functionName, functionId, parameter, template, methods, route);
        }
        return null;
    }
}
