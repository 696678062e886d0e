using SmartApp.Domain.Chat;

namespace SmartApp.Tests.Unit.Chat;

/// <summary>Which messages a branch holds: its own, and each branch's it grew from up to where it forked.</summary>
[Trait("Category", "Unit")]
public sealed class BranchPathTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    private static ChatMessageRecord Message(string id, int second, MessageRole role, string? branch = null) =>
        new(id, "conv", role, id, Start.AddSeconds(second)) { Branch = branch };

    [Fact]
    public void A_regenerated_reply_and_an_edit_of_an_edit_each_hold_what_came_before_their_fork_and_nothing_after()
    {
        // main: q1 a1 q2 a2; regenerating a2 makes r (a2'); editing q2 on r makes e (q2'' a); editing q1 on e makes f.
        var q1 = Message("q1", 1, MessageRole.User);
        var a1 = Message("a1", 2, MessageRole.Assistant);
        var q2 = Message("q2", 3, MessageRole.User);
        var a2 = Message("a2", 4, MessageRole.Assistant);
        var a2Again = Message("a2r", 5, MessageRole.Assistant, "r");
        var q2Edited = Message("q2e", 6, MessageRole.User, "e");
        var q2EditedReply = Message("a2e", 7, MessageRole.Assistant, "e");
        var q1Edited = Message("q1f", 8, MessageRole.User, "f");
        var conversation = new Conversation("conv", null, Start, Start)
        {
            Branches =
            [
                new ConversationBranch("r", Conversation.MainBranch, BranchKind.Regenerate, a2.Id, q2.Sequence, Start),
                new ConversationBranch("e", "r", BranchKind.Edit, q2.Id, q2.Sequence - 1, Start),
                new ConversationBranch("f", "e", BranchKind.Edit, q1.Id, q1.Sequence - 1, Start),
            ],
        };
        ChatMessageRecord[] all = [q1, a1, q2, a2, a2Again, q2Edited, q2EditedReply, q1Edited];

        string[] Read(string branch) => [.. all.Where(conversation.PathOf(branch).Holds).Select(m => m.Id)];

        Assert.Equal(["q1", "a1", "q2", "a2"], Read(Conversation.MainBranch));
        Assert.Equal(["q1", "a1", "q2", "a2r"], Read("r"));
        Assert.Equal(["q1", "a1", "q2e", "a2e"], Read("e"));
        Assert.Equal(["q1f"], Read("f"));
        Assert.Equal(["q1", "a1"], [.. all.Where(conversation.PathOf("r").Until(q2.Sequence - 1).Holds).Select(m => m.Id)]);
    }
}
