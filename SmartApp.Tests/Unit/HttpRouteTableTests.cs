using Microsoft.AspNetCore.Http;
using SmartApp.DevHost.Routing;

namespace SmartApp.Tests.Unit;

public sealed class HttpRouteTableTests
{
    private static HttpRoute Route(string name, string route, params string[] methods) =>
        HttpRouteTable.FromBindings(name, name + "-id",
            [$$"""{"name":"req","type":"httpTrigger","direction":"In","authLevel":"Anonymous","route":"{{route}}","methods":[{{string.Join(",", methods.Select(m => $"\"{m}\""))}}]}""",
             """{"name":"$return","type":"http","direction":"Out"}"""], "api")!;

    private readonly HttpRouteTable _table = new([
        Route("CatchAll", "{*path}", "get", "post", "delete"),
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
    [InlineData("DELETE", "/api/chat/conversations/c1", "CatchAll")]
    [InlineData("GET", "/api/anything/else", "CatchAll")]
    public void The_most_specific_route_with_a_matching_method_wins(string method, string path, string expected)
    {
        Assert.Equal(expected, _table.Match(method, new PathString(path))?.Route.FunctionName);
    }

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
}
