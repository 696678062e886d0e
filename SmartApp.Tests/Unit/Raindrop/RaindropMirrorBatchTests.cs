using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using SmartApp.Domain.Common.Raindrop;

namespace SmartApp.Tests.Unit;

/// <summary>The mirror's batch step: a page of changes applied in order; what Raindrop refuses for good is skipped, anything else stops the batch.</summary>
[Trait("Category", "Unit")]
public sealed class RaindropMirrorBatchTests
{
    private readonly Mock<IMirrorHandler> _handler = new();
    private readonly List<string> _applied = [];
    private readonly MirrorStatus _status = new(TimeProvider.System);

    public RaindropMirrorBatchTests()
    {
        _handler.Setup(h => h.Area).Returns("files");
        _handler.Setup(h => h.ApplyAsync(It.IsAny<JsonElement>(), It.IsAny<CancellationToken>()))
            .Callback((JsonElement change, CancellationToken _) => _applied.Add(change.GetProperty("id").GetString()!)).Returns(Task.CompletedTask);
    }

    private static JsonElement Change(string id) => JsonDocument.Parse($$"""{"id":"{{id}}","_ts":1700000000}""").RootElement;

    private Task Apply(params string[] ids) =>
        RaindropMirror.ApplyChangesAsync(_handler.Object, ids.Select(Change).ToList(), _status, NullLogger.Instance, default);

    private void Fails(string id, RaindropException error) =>
        _handler.Setup(h => h.ApplyAsync(It.Is<JsonElement>(c => c.GetProperty("id").GetString() == id), It.IsAny<CancellationToken>())).ThrowsAsync(error);

    [Fact]
    public async Task Changes_are_applied_one_by_one_in_the_feeds_order()
    {
        await Apply("a", "b", "c");

        Assert.Equal(["a", "b", "c"], _applied);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(404)]
    [InlineData(413)]
    [InlineData(415)]
    [InlineData(422)]
    public async Task A_change_raindrop_refuses_for_good_is_skipped_and_the_rest_still_go(int status)
    {
        Fails("b", new RaindropException("put_object", "refused", status));

        await Apply("a", "b", "c");

        Assert.Equal(["a", "c"], _applied);
    }

    [Theory]
    [InlineData(429)]
    [InlineData(503)]
    [InlineData(null)]
    public async Task A_failure_a_retry_may_fix_stops_the_batch_so_its_position_is_not_saved(int? status)
    {
        Fails("b", new RaindropException("put_object", "try again", status));

        await Assert.ThrowsAsync<RaindropException>(() => Apply("a", "b", "c"));

        Assert.Equal(["a"], _applied);
    }

    [Fact]
    public async Task The_backlog_is_reported_while_a_batch_is_applied()
    {
        var backlogs = new List<int>();
        _handler.Setup(h => h.ApplyAsync(It.IsAny<JsonElement>(), It.IsAny<CancellationToken>()))
            .Callback(() => backlogs.Add(_status.Areas["files"].Backlog)).Returns(Task.CompletedTask);

        await Apply("a", "b", "c");

        Assert.Equal([3, 2, 1], backlogs);
    }
}
