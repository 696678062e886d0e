using SmartApp.Domain.Chat;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class MessageSequenceTests
{
    /// <summary>Cosmos DB orders numbers as doubles: sequences must be exact there, so below 2^53, and a reply must sort after its message.</summary>
    [Fact]
    public void Sequences_are_exact_as_doubles_and_order_a_turn_and_the_next()
    {
        var at = new DateTimeOffset(2099, 12, 31, 23, 59, 59, TimeSpan.Zero).AddTicks(9_999_990);
        var message = new ChatMessageRecord("q", "conv", MessageRole.User, "q", at).Sequence;
        var reply = new ChatMessageRecord("a", "conv", MessageRole.Assistant, "a", at).Sequence;
        var next = new ChatMessageRecord("q2", "conv", MessageRole.User, "q2", at.AddTicks(10)).Sequence;
        Assert.True(reply < 1L << 53);
        Assert.True((double)message < (double)reply && (double)reply < (double)next);
    }
}
