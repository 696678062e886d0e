using SmartApp.Domain.Chat;
using SmartApp.Domain.Chat.Adapters.Cosmos;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class MessageSequenceTests
{
    /// <summary>Cosmos DB orders numbers as doubles: sequences must be exact there, so below 2^53, and a reply must sort after its message.</summary>
    [Fact]
    public void Sequences_are_exact_as_doubles_and_order_a_turn_and_the_next()
    {
        var at = new DateTimeOffset(2099, 12, 31, 23, 59, 59, TimeSpan.Zero).AddTicks(9_999_990);
        var message = MessageDocument.SequenceOf(at, MessageRole.User);
        var reply = MessageDocument.SequenceOf(at, MessageRole.Assistant);
        var next = MessageDocument.SequenceOf(at.AddTicks(10), MessageRole.User);
        Assert.True(reply < 1L << 53);
        Assert.True((double)message < (double)reply && (double)reply < (double)next);
    }
}
