using System.Text;
using System.Text.Json.Nodes;
using SmartApp.Domain.Agents;

namespace SmartApp.Tests.Unit.Agents;

[Trait("Category", "Unit")]
public sealed class AgentToolsTests
{
    private static JsonObject Passages(int count, int characters) => new()
    {
        ["passages"] = new JsonArray([.. Enumerable.Range(0, count).Select(i => (JsonNode?)new JsonObject { ["index"] = i, ["text"] = new string('x', characters) })]),
    };

    [Fact]
    public void A_result_within_its_bound_is_given_as_it_is()
    {
        var result = AgentTools.Bound(Passages(3, 100), 16 * 1024);
        Assert.Equal(3, result["passages"]!.AsArray().Count);
        Assert.False(result.ContainsKey("truncated"));
    }

    [Fact]
    public void A_long_list_loses_its_last_items_until_it_fits_and_says_so()
    {
        var result = AgentTools.Bound(Passages(100, 500), 16 * 1024);
        var kept = result["passages"]!.AsArray();
        Assert.InRange(Encoding.UTF8.GetByteCount(result.ToJsonString()), 15 * 1024, 16 * 1024);
        Assert.Equal(Enumerable.Range(0, kept.Count), kept.Select(p => (int)p!["index"]!)); // the best first, in order
        Assert.True((bool)result["truncated"]!);
    }

    [Fact]
    public void A_single_item_larger_than_the_bound_is_cut_as_text()
    {
        var result = AgentTools.Bound(new JsonObject { ["answer"] = new string('y', 40_000) }, 2048);
        Assert.True(Encoding.UTF8.GetByteCount(result.ToJsonString()) <= 2048);
        Assert.True((bool)result["truncated"]!);
    }
}
