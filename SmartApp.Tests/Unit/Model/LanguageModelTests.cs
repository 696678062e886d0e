using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using SmartApp.Domain.Model;

namespace SmartApp.Tests.Unit;

/// <summary>The one way capabilities call the model: within a time budget, a failure handed back for the caller's fallback, never thrown.</summary>
[Trait("Category", "Unit")]
public sealed class LanguageModelTests
{
    private static readonly ChatMessage[] Prompt = [new(ChatRole.User, "hello")];

    private static LanguageModel Model(IChatClient client) => new(client, NullLogger<LanguageModel>.Instance);

    [Fact]
    public async Task An_answer_in_time_comes_back_with_its_usage()
    {
        var client = new Mock<IChatClient>();
        client.Setup(c => c.GetResponseAsync(It.IsAny<IEnumerable<ChatMessage>>(), It.IsAny<ChatOptions>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(new ChatResponse(new ChatMessage(ChatRole.Assistant, "hi there")) { Usage = new UsageDetails { InputTokenCount = 7, OutputTokenCount = 2 } });

        var reply = await Model(client.Object).AnswerAsync("test", Prompt, new ChatOptions(), TimeSpan.FromSeconds(5), default);

        Assert.Equal("hi there", reply.Text);
        Assert.Equal(new TokenUsage(7, 2), reply.Usage);
        Assert.Null(reply.Failure);
        Assert.False(reply.IsEmpty);
    }

    [Fact]
    public async Task A_failing_model_is_a_failure_to_fall_back_on_not_an_exception()
    {
        var client = new Mock<IChatClient>();
        client.Setup(c => c.GetResponseAsync(It.IsAny<IEnumerable<ChatMessage>>(), It.IsAny<ChatOptions>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new HttpRequestException("503 from the provider"));

        var reply = await Model(client.Object).AnswerAsync("test", Prompt, new ChatOptions(), TimeSpan.FromSeconds(5), default);

        Assert.True(reply.IsEmpty);
        Assert.IsType<HttpRequestException>(reply.Failure);
    }

    [Fact]
    public async Task A_model_slower_than_the_budget_is_given_up_at_the_budget()
    {
        var client = new Mock<IChatClient>();
        client.Setup(c => c.GetResponseAsync(It.IsAny<IEnumerable<ChatMessage>>(), It.IsAny<ChatOptions>(), It.IsAny<CancellationToken>()))
            .Returns(async (IEnumerable<ChatMessage> _, ChatOptions? _, CancellationToken token) =>
            {
                await Task.Delay(TimeSpan.FromMinutes(5), token);
                return new ChatResponse(new ChatMessage(ChatRole.Assistant, "too late"));
            });

        var reply = await Model(client.Object).AnswerAsync("test", Prompt, new ChatOptions(), TimeSpan.FromMilliseconds(100), default);

        Assert.True(reply.IsEmpty);
        Assert.IsAssignableFrom<OperationCanceledException>(reply.Failure);
    }

    [Fact]
    public async Task An_empty_answer_is_empty_so_the_caller_falls_back()
    {
        var client = new Mock<IChatClient>();
        client.Setup(c => c.GetResponseAsync(It.IsAny<IEnumerable<ChatMessage>>(), It.IsAny<ChatOptions>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(new ChatResponse(new ChatMessage(ChatRole.Assistant, "  \n ")));

        var reply = await Model(client.Object).AnswerAsync("test", Prompt, new ChatOptions(), TimeSpan.FromSeconds(5), default);

        Assert.True(reply.IsEmpty);
        Assert.Null(reply.Failure);
    }

    [Fact]
    public async Task A_caller_that_leaves_is_not_a_model_failure()
    {
        using var leaving = new CancellationTokenSource();
        var client = new Mock<IChatClient>();
        client.Setup(c => c.GetResponseAsync(It.IsAny<IEnumerable<ChatMessage>>(), It.IsAny<ChatOptions>(), It.IsAny<CancellationToken>()))
            .Returns(async (IEnumerable<ChatMessage> _, ChatOptions? _, CancellationToken token) =>
            {
                await leaving.CancelAsync();
                token.ThrowIfCancellationRequested();
                return new ChatResponse();
            });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Model(client.Object).AnswerAsync("test", Prompt, new ChatOptions(), TimeSpan.FromSeconds(5), leaving.Token));
    }

    [Fact]
    public async Task A_stream_relays_each_piece_and_keeps_what_came_before_a_failure()
    {
        var relayed = new List<string>();
        var reply = await Model(new StreamingClient(["Hel", "lo"], fail: new HttpRequestException("connection reset"))).StreamAsync("test", Prompt, new ChatOptions(),
            TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5), (text, _) => { relayed.Add(text); return Task.CompletedTask; }, default);

        Assert.Equal(["Hel", "lo"], relayed);
        Assert.Equal("Hello", reply.Text);
        Assert.IsType<HttpRequestException>(reply.Failure);
    }

    [Fact]
    public async Task A_stream_with_no_first_token_in_time_fails_empty()
    {
        var reply = await Model(new StreamingClient([], firstTokenDelay: TimeSpan.FromMinutes(5))).StreamAsync("test", Prompt, new ChatOptions(),
            TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5), (_, _) => Task.CompletedTask, default);

        Assert.Equal("", reply.Text);
        Assert.NotNull(reply.Failure);
    }

    [Fact]
    public async Task A_stream_whose_caller_leaves_keeps_what_was_generated_without_a_failure()
    {
        using var leaving = new CancellationTokenSource();
        var reply = await Model(new StreamingClient(["one ", "two ", "three"])).StreamAsync("test", Prompt, new ChatOptions(),
            TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5), async (text, _) => { if (text == "two ") await leaving.CancelAsync(); }, leaving.Token);

        Assert.StartsWith("one two ", reply.Text);
        Assert.Null(reply.Failure);
    }

    [Fact]
    public void The_sources_answer_numbers_each_source_as_the_citations_do()
    {
        Assert.Equal("Lead:\n[1] first\n[2] second", LanguageModel.SourcesAnswer("Lead:", ["first", "second"]));
    }

    /// <summary>A model that streams the given pieces, optionally after a delay, optionally failing after them.</summary>
    private sealed class StreamingClient(string[] pieces, Exception? fail = null, TimeSpan? firstTokenDelay = null) : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
            [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            if (firstTokenDelay is { } delay) await Task.Delay(delay, cancellationToken);
            foreach (var piece in pieces)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return new ChatResponseUpdate(ChatRole.Assistant, piece);
            }
            if (fail is not null) throw fail;
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose() { }
    }
}
