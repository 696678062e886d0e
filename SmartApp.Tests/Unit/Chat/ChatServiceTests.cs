using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moq;
using SmartApp.Domain.Chat;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Quotas;
using SmartApp.Domain.Identity;
using SmartApp.Domain.Model;

namespace SmartApp.Tests.Unit;

/// <summary>A chat turn at its ports: the user's message kept first, the model's reply or the fallback on the sources, and what is counted.</summary>
[Trait("Category", "Unit")]
public sealed class ChatServiceTests
{
    private static readonly CurrentUser User = new("user_1", "user@example.com", "User One", false);
    private static readonly Conversation Conversation = new("conv_0123456789abcdef0123456789abcdef", null, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);

    private readonly Mock<IConversationStore> _conversations = new();
    private readonly Mock<IUsageStore> _usage = new();
    private readonly Mock<IChatClient> _model = new();
    private readonly Mock<IChatContext> _context = new();
    private readonly List<ChatMessageRecord> _stored = [];
    private readonly List<string> _streamed = [];

    public ChatServiceTests()
    {
        _conversations.Setup(c => c.FindAsync(User.UserId, Conversation.Id, It.IsAny<CancellationToken>())).ReturnsAsync(Conversation);
        _conversations.Setup(c => c.RecentMessagesAsync(User.UserId, Conversation.Id, It.IsAny<IReadOnlyList<BranchSegment>>(), It.IsAny<int>(), It.IsAny<CancellationToken>())).ReturnsAsync([]);
        _conversations.Setup(c => c.AddMessageAsync(User.UserId, It.IsAny<ChatMessageRecord>(), It.IsAny<CancellationToken>()))
            .Callback((string _, ChatMessageRecord m, CancellationToken _) =>
            {
                // An upsert: a reply's progress and its final record are one message.
                lock (_stored)
                {
                    _stored.RemoveAll(x => x.Id == m.Id);
                    _stored.Add(m);
                }
            }).Returns(Task.CompletedTask);
        _conversations.Setup(c => c.DeleteMessageAsync(User.UserId, It.IsAny<string>(), It.IsAny<CancellationToken>()))
            .Callback((string _, string id, CancellationToken _) =>
            {
                lock (_stored) _stored.RemoveAll(x => x.Id == id);
            }).Returns(Task.CompletedTask);
    }

    [Fact]
    public async Task A_resumed_reply_whose_generation_stopped_being_written_is_marked_interrupted_after_what_was_stored()
    {
        var started = DateTimeOffset.UtcNow.AddMinutes(-5);
        var stale = new ChatMessageRecord("msg_0123456789abcdef0123456789abcdef", Conversation.Id, MessageRole.Assistant, "The sea at night is", started)
        {
            ReplyTo = "msg_fedcba9876543210fedcba9876543210", Streaming = true, UpdatedAt = started.AddSeconds(3),
        };
        _conversations.Setup(c => c.FindMessageAsync(User.UserId, stale.Id, It.IsAny<CancellationToken>())).ReturnsAsync(stale);
        _conversations.Setup(c => c.TryMarkInterruptedAsync(User.UserId, stale.Id, It.IsAny<DateTimeOffset>(), It.IsAny<CancellationToken>())).ReturnsAsync(stale.AsInterrupted());

        var ended = await Service().ResumeAsync(User, Conversation.Id, stale.Id, "The sea at ".Length, new Sink(_streamed), default);

        Assert.Equal(["night is"], _streamed); // exactly what came after the client's last event
        Assert.True(ended.Interrupted);
        Assert.True(ended.Incomplete);
        _conversations.Verify(c => c.TryMarkInterruptedAsync(User.UserId, stale.Id, It.Is<DateTimeOffset>(t => t > stale.UpdatedAt), It.IsAny<CancellationToken>()), Times.Once);
    }

    [Fact]
    public async Task A_reply_of_another_conversation_or_a_users_message_is_not_resumed()
    {
        var reply = new ChatMessageRecord("msg_0123456789abcdef0123456789abcdef", "conv_ffffffffffffffffffffffffffffffff", MessageRole.Assistant, "Elsewhere", DateTimeOffset.UnixEpoch);
        _conversations.Setup(c => c.FindMessageAsync(User.UserId, reply.Id, It.IsAny<CancellationToken>())).ReturnsAsync(reply);
        await Assert.ThrowsAsync<NotFoundException>(() => Service().ResumeAsync(User, Conversation.Id, reply.Id, 0, new Sink(_streamed), default));
        await Assert.ThrowsAsync<NotFoundException>(() => Service().ResumeAsync(User, Conversation.Id, "not-an-id", 0, new Sink(_streamed), default));
        Assert.Empty(_streamed);
    }

    private ChatService Service()
    {
        var models = new Mock<IModelCatalog>();
        models.Setup(m => m.DefaultModelAsync(It.IsAny<CancellationToken>())).ReturnsAsync("test-model");
        var options = Options.Create(new ChatTurnOptions { FirstTokenTimeout = TimeSpan.FromSeconds(2), OutageRetryAfter = TimeSpan.FromSeconds(30) });
        return new ChatService(_conversations.Object, _usage.Object, new LanguageModel(_model.Object, NullLogger<LanguageModel>.Instance), models.Object,
            new ChatPromptBuilder(options), _context.Object, new NoQuotas(), options, Mock.Of<SmartApp.Domain.Agents.IAgentToolbox>(),
            Options.Create(new SmartApp.Domain.Agents.AgentOptions { ChatTools = false }), new LiveReplies(), Mock.Of<ISharedConversationStore>(), TimeProvider.System, NullLogger<ChatService>.Instance);
    }

    private void Sources(params string[] texts) =>
        _context.Setup(c => c.GatherAsync(User, It.IsAny<string>(), It.IsAny<ChatRequest>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(texts.Select(t => new Citation(Citation.MemoryType, 1, t) { Kind = "semantic" }).ToList());

    private void ModelDown() =>
        _model.Setup(m => m.GetStreamingResponseAsync(It.IsAny<IEnumerable<ChatMessage>>(), It.IsAny<ChatOptions>(), It.IsAny<CancellationToken>()))
            .Throws(new HttpRequestException("503"));

    private sealed class Sink(List<string> streamed) : IReplySink
    {
        public Task StartAsync(string messageId, string replyId, IReadOnlyList<Citation> citations, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task DeltaAsync(string text, CancellationToken cancellationToken)
        {
            streamed.Add(text);
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task With_the_model_down_the_reply_is_what_the_sources_say_marked_degraded_and_costs_no_tokens()
    {
        Sources("Lives in Porto", "Likes green tea");
        ModelDown();

        var turn = await Service().SendAsync(User, Conversation.Id, new ChatRequest("Where do I live?"), new Sink(_streamed), default);

        Assert.True(turn.Reply.Degraded);
        Assert.Equal(ChatService.SourcesLead + "\n[1] Lives in Porto\n[2] Likes green tea", turn.Reply.Content);
        Assert.Equal([turn.Reply.Content], _streamed);
        Assert.Equal([MessageRole.User, MessageRole.Assistant], _stored.Select(m => m.Role));
        _usage.Verify(u => u.AddAsync(It.IsAny<string>(), It.IsAny<DateTimeOffset>(), It.IsAny<TokenUsage>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [Fact]
    public async Task With_the_model_down_and_nothing_to_fall_back_on_the_turn_is_503_with_retry_after_and_the_message_is_kept()
    {
        Sources();
        ModelDown();

        var error = await Assert.ThrowsAsync<UpstreamUnavailableException>(() => Service().SendAsync(User, Conversation.Id, new ChatRequest("Hello?"), new Sink(_streamed), default));

        Assert.Equal(TimeSpan.FromSeconds(30), error.RetryAfter);
        var kept = Assert.Single(_stored);
        Assert.Equal("Hello?", kept.Content);
        Assert.Empty(_streamed);
    }

    [Fact]
    public async Task A_reply_is_streamed_stored_with_its_citations_and_counted()
    {
        Sources("Lives in Porto");
        _model.Setup(m => m.GetStreamingResponseAsync(It.IsAny<IEnumerable<ChatMessage>>(), It.IsAny<ChatOptions>(), It.IsAny<CancellationToken>()))
            .Returns(Updates(new ChatResponseUpdate(ChatRole.Assistant, "In Porto "), new ChatResponseUpdate(ChatRole.Assistant, "[1]."),
                new ChatResponseUpdate { Contents = [new UsageContent(new UsageDetails { InputTokenCount = 120, OutputTokenCount = 4 })] }));

        var turn = await Service().SendAsync(User, Conversation.Id, new ChatRequest("Where do I live?"), new Sink(_streamed), default);

        Assert.Equal(["In Porto ", "[1]."], _streamed);
        Assert.Equal("In Porto [1].", turn.Reply.Content);
        Assert.False(turn.Reply.Degraded);
        Assert.Equal("Lives in Porto", Assert.Single(turn.Reply.Citations).Text);
        _usage.Verify(u => u.AddAsync(User.UserId, It.IsAny<DateTimeOffset>(), new TokenUsage(120, 4), It.IsAny<CancellationToken>()), Times.Once);
        _context.Verify(c => c.RememberTurnAsync(User, Conversation, It.Is<ChatMessageRecord>(m => m.Content == "Where do I live?"), turn.Reply), Times.Once);
    }

    [Fact]
    public async Task A_model_that_breaks_off_mid_reply_leaves_what_it_wrote_stored_as_incomplete_then_fails_the_turn()
    {
        Sources("Lives in Porto");
        _model.Setup(m => m.GetStreamingResponseAsync(It.IsAny<IEnumerable<ChatMessage>>(), It.IsAny<ChatOptions>(), It.IsAny<CancellationToken>()))
            .Returns(Updates(new ChatResponseUpdate(ChatRole.Assistant, "You live in"), null));

        await Assert.ThrowsAsync<UpstreamUnavailableException>(() => Service().SendAsync(User, Conversation.Id, new ChatRequest("Where do I live?"), new Sink(_streamed), default));

        var reply = _stored.Single(m => m.Role == MessageRole.Assistant);
        Assert.Equal("You live in", reply.Content);
        Assert.True(reply.Incomplete);
        Assert.False(reply.Degraded);
    }

    /// <summary>The given updates as a stream; a null update throws there, as a dropped connection does.</summary>
    private static async IAsyncEnumerable<ChatResponseUpdate> Updates(params ChatResponseUpdate?[] updates)
    {
        foreach (var update in updates)
        {
            await Task.Yield();
            yield return update ?? throw new HttpRequestException("connection reset");
        }
    }
}
