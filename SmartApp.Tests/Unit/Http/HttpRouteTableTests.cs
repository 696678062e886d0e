using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using SmartApp.DevHost.Routing;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class HttpRouteTableTests
{
    private static HttpRoute Route(string name, string route, params string[] methods) =>
        HttpRouteTable.FromBindings(name, name + "-id",
            [$$"""{"name":"req","type":"httpTrigger","direction":"In","authLevel":"Anonymous","route":"{{route}}","methods":[{{string.Join(",", methods.Select(m => $"\"{m}\""))}}]}""",
             """{"name":"$return","type":"http","direction":"Out"}"""], "api")!;

    private readonly HttpRouteTable _table = new([
        Route("ZzCatchAll", "{*path}", "get", "post", "delete"),
        Route("GetConversation", "chat/conversations/{id}", "get"),
        Route("ListConversations", "chat/conversations", "get"),
        Route("CreateConversation", "chat/conversations", "post"),
        Route("Health", "health", "get"),
        Route("HealthDetails", "health/details", "get"),
    ]);

    [Theory]
    [InlineData("GET", "/api/health", "Health")]
    [InlineData("GET", "/api/health/details", "HealthDetails")]
    [InlineData("GET", "/api/chat/conversations", "ListConversations")]
    [InlineData("POST", "/api/chat/conversations", "CreateConversation")]
    [InlineData("GET", "/api/chat/conversations/c1", "GetConversation")]
    [InlineData("DELETE", "/api/chat/conversations/c1", "ZzCatchAll")]
    [InlineData("GET", "/api/anything/else", "ZzCatchAll")]
    public void The_first_route_by_function_name_with_a_matching_method_wins(string method, string path, string expected)
    {
        Assert.Empty(_table.Shadowed);
        Assert.Equal(expected, _table.Match(method, new PathString(path))?.Route.FunctionName);
    }

    [Fact]
    public void Routes_are_tried_by_function_name_not_by_specificity_and_a_shadowed_route_is_named()
    {
        // As the Functions host maps them: "NoSuchRoute" sorts before "OpenAIChatCompletions", so its catch-all takes
        // POST /api/v1/chat/completions, and "FileGet" sorts before "FileSearch" (were both GET, the parameter would win).
        var table = new HttpRouteTable([
            Route("OpenAIChatCompletions", "v1/chat/completions", "post"),
            Route("NoSuchRoute", "{*path}", "get", "post"),
            Route("FileSearch", "files/search", "get"),
            Route("FileGet", "files/{fileId}", "get"),
        ]);
        Assert.Equal("NoSuchRoute", table.Match("POST", new PathString("/api/v1/chat/completions"))?.Route.FunctionName);
        Assert.Equal("FileGet", table.Match("GET", new PathString("/api/files/search"))?.Route.FunctionName);
        Assert.Equal(2, table.Shadowed.Count);
        Assert.Contains(table.Shadowed, s => s.StartsWith("OpenAIChatCompletions (/api/v1/chat/completions) is shadowed by NoSuchRoute", StringComparison.Ordinal));
        Assert.Contains(table.Shadowed, s => s.StartsWith("FileSearch (/api/files/search) is shadowed by FileGet", StringComparison.Ordinal));
    }

    [Fact]
    public void Routes_whose_methods_differ_do_not_shadow_each_other() =>
        Assert.Empty(new HttpRouteTable([Route("FileAsk", "files/{fileId}", "post"), Route("FileGet", "files/search", "get")]).Shadowed);

    [Fact]
    public void Route_values_are_bound()
    {
        var match = _table.Match("GET", new PathString("/api/chat/conversations/abc-123"))!;
        Assert.Equal("abc-123", match.Values["id"]);
    }

    [Fact]
    public void Paths_outside_the_prefix_match_nothing() =>
        Assert.Null(_table.Match("GET", new PathString("/health")));

    [Fact]
    public void A_function_without_an_http_trigger_has_no_route() =>
        Assert.Null(HttpRouteTable.FromBindings("Timer", "t", ["""{"name":"timer","type":"timerTrigger","direction":"In","schedule":"0 * * * * *"}"""], "api"));

    [Fact]
    public void Methods_are_matched_case_insensitively() =>
        Assert.Equal("Health", _table.Match("get", new PathString("/api/health"))?.Route.FunctionName);

    [Fact]
    public void No_route_of_the_function_app_is_shadowed_under_the_hosts_routing()
    {
        var routes = typeof(SmartApp.Functions.Http.ProblemWriter).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods())
            .Select(m => (Function: m.GetCustomAttribute<FunctionAttribute>(), Trigger: m.GetParameters().Select(p => p.GetCustomAttribute<HttpTriggerAttribute>()).OfType<HttpTriggerAttribute>().FirstOrDefault()))
            .Where(f => f.Function is not null && f.Trigger is not null)
            .Select(f => Route(f.Function!.Name, f.Trigger!.Route!, f.Trigger.Methods!))
            .ToList();
        Assert.True(routes.Count > 50, $"{routes.Count} routes found");
        Assert.Equal([], new HttpRouteTable(routes).Shadowed);
        Assert.Equal([], new HttpRouteTable(routes).Refused);
    }

    [Theory]
    [InlineData("admin/users")]
    [InlineData("Administrators")]
    [InlineData("/runtime/webhooks")]
    public void A_route_in_the_hosts_own_space_is_refused(string route)
    {
        // ScriptHost.ValidateHttpFunction: the route, trimmed and lower-cased, may not start with "admin" or "runtime".
        var refused = Assert.Single(new HttpRouteTable([Route("Mine", route, "get")]).Refused);
        Assert.Contains("built-in routes", refused);
    }

    [Fact]
    public void Two_functions_with_the_same_route_and_a_method_in_common_are_refused()
    {
        // ScriptHost.HttpRoutesConflict: the same route (trimmed, case-insensitive) and intersecting methods (none means all).
        var refused = Assert.Single(new HttpRouteTable([Route("A", "things", "get", "post"), Route("B", "/Things/", "post")]).Refused);
        Assert.Contains("conflicts with the route defined by function 'A'", refused);
        Assert.Empty(new HttpRouteTable([Route("A", "things", "get"), Route("B", "things", "post")]).Refused);
    }

    [Fact]
    public void An_inline_constraint_is_enforced_and_an_unknown_one_refused()
    {
        var table = new HttpRouteTable([Route("Item", "items/{id:int}", "get"), Route("ItemByName", "items/{name}", "get")]);
        Assert.Empty(table.Shadowed); // "items/x1" is no int, so Item does not take every path ItemByName answers
        Assert.Equal("Item", table.Match("GET", new PathString("/api/items/7"))?.Route.FunctionName);
        Assert.Equal("ItemByName", table.Match("GET", new PathString("/api/items/seven"))?.Route.FunctionName);
        Assert.Contains("'nosuch'", Assert.Single(new HttpRouteTable([Route("Odd", "odd/{id:nosuch}", "get")]).Refused));
    }
}
