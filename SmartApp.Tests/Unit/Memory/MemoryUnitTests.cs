using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moq;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Search;
using SmartApp.Domain.Memory;
using SmartApp.Domain.Model;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class SessionSummarizerTests
{
    private static float[] V(params float[] values) => Vectors.Normalize(values);

    private static readonly NewMemory[] Session =
    [
        new(new MemoryEntry("m1", MemoryKind.Working, "Talked about the weather", DateTimeOffset.Parse("2026-01-01T10:00:00Z")), V(0, 0, 1)),
        new(new MemoryEntry("m2", MemoryKind.Working, "Wants to learn Spanish", DateTimeOffset.Parse("2026-01-01T10:01:00Z")), V(1, 0.1f, 0)),
        new(new MemoryEntry("m3", MemoryKind.Working, "Signed up for Spanish classes", DateTimeOffset.Parse("2026-01-01T10:02:00Z")), V(1, 0, 0)),
        new(new MemoryEntry("m4", MemoryKind.Working, "Practises Spanish vocabulary daily", DateTimeOffset.Parse("2026-01-01T10:03:00Z")), V(0.9f, 0.2f, 0)),
    ];

    private static SessionSummarizer Summarizer(Mock<IChatClient> model, TimeSpan? timeout = null) =>
        new(new LanguageModel(model.Object, NullLogger<LanguageModel>.Instance), Options.Create(new MemoryOptions { SummaryTimeout = timeout ?? TimeSpan.FromSeconds(5) }));

    [Fact]
    public async Task The_models_summary_is_used_when_it_answers()
    {
        var model = new Mock<IChatClient>();
        model.Setup(m => m.GetResponseAsync(It.IsAny<IEnumerable<ChatMessage>>(), It.IsAny<ChatOptions>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(new ChatResponse(new ChatMessage(ChatRole.Assistant, "  The user is learning Spanish.  ")));
        var (summary, method) = await Summarizer(model).SummarizeAsync(Session, default);
        Assert.Equal(("The user is learning Spanish.", SummaryMethod.Model), (summary, method));
        model.Verify(m => m.GetResponseAsync(It.Is<IEnumerable<ChatMessage>>(messages => messages.Last().Text.Contains("Signed up for Spanish classes")),
            It.IsAny<ChatOptions>(), It.IsAny<CancellationToken>()), Times.Once);
    }

    [Theory]
    [InlineData("throws")]
    [InlineData("empty")]
    [InlineData("hangs")]
    public async Task An_unavailable_empty_or_slow_model_gives_the_extractive_summary_of_the_most_central_memories(string failure)
    {
        var model = new Mock<IChatClient>();
        var setup = model.Setup(m => m.GetResponseAsync(It.IsAny<IEnumerable<ChatMessage>>(), It.IsAny<ChatOptions>(), It.IsAny<CancellationToken>()));
        _ = failure switch
        {
            "throws" => setup.ThrowsAsync(new HttpRequestException("503")),
            "empty" => setup.ReturnsAsync(new ChatResponse(new ChatMessage(ChatRole.Assistant, " "))),
            _ => setup.Returns(async (IEnumerable<ChatMessage> _, ChatOptions _, CancellationToken token) =>
            {
                await Task.Delay(Timeout.Infinite, token);
                return new ChatResponse();
            }),
        };
        var (summary, method) = await Summarizer(model, TimeSpan.FromMilliseconds(200)).SummarizeAsync(Session, default);
        Assert.Equal(SummaryMethod.Extractive, method);
        // The three memories nearest the session's centroid, in the order they were written; the outlier is left out.
        Assert.Equal("Wants to learn Spanish\nSigned up for Spanish classes\nPractises Spanish vocabulary daily", summary);
    }

    [Fact]
    public async Task The_callers_cancellation_is_not_mistaken_for_a_slow_model()
    {
        var model = new Mock<IChatClient>();
        model.Setup(m => m.GetResponseAsync(It.IsAny<IEnumerable<ChatMessage>>(), It.IsAny<ChatOptions>(), It.IsAny<CancellationToken>()))
            .Returns(async (IEnumerable<ChatMessage> _, ChatOptions _, CancellationToken token) =>
            {
                await Task.Delay(Timeout.Infinite, token);
                return new ChatResponse();
            });
        using var cancelled = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Summarizer(model).SummarizeAsync(Session, cancelled.Token));
    }
}

[Trait("Category", "Unit")]
public sealed class MemoryInputTests
{
    [Fact]
    public void Kinds_parse_by_name_in_any_case_and_none_means_all()
    {
        Assert.Equal([MemoryKind.Working, MemoryKind.Episodic], MemoryService.ParseKinds(["working", "EPISODIC"]).Order());
        Assert.Equal(4, MemoryService.ParseKinds(null).Count);
        Assert.Equal("kinds", Assert.Throws<ValidationFailedException>(() => MemoryService.ParseKinds(["dreams"])).Errors.Keys.Single());
        Assert.Throws<ValidationFailedException>(() => MemoryService.ParseKinds(["1"]));
    }

    [Fact]
    public void Repeats_share_an_id_and_ids_of_other_shapes_are_rejected_before_storage_is_asked()
    {
        Assert.Equal(MemoryIds.ForWorking("ses_1", "default", null, "hi"), MemoryIds.ForWorking("ses_1", "default", null, "hi"));
        Assert.NotEqual(MemoryIds.ForWorking("ses_1", "default", null, "hi"), MemoryIds.ForWorking("ses_1", "default", "k", "hi"));
        Assert.NotEqual(MemoryIds.ForWorking("ses_1", "a", null, "hi"), MemoryIds.ForWorking("ses_1", "b", null, "hi"));
        Assert.True(MemoryIds.IsWellFormed(MemoryIds.NewSession(), MemoryIds.Session));
        Assert.True(MemoryIds.IsWellFormed(MemoryIds.ForProcedure("greeting"), MemoryIds.Procedural));
        Assert.False(MemoryIds.IsWellFormed(MemoryIds.NewDocument(), MemoryIds.Session));
        Assert.False(MemoryIds.IsWellFormed("ses_../../x", MemoryIds.Session));
        Assert.False(MemoryIds.IsWellFormed("ses_0000000000000000000000000000000G", MemoryIds.Session));
    }

    [Fact]
    public void A_documents_text_names_each_value_by_its_property()
    {
        var document = JsonDocument.Parse("""{"title":"Policy","items":[{"days":30},{"receipt":true}],"empty":"","none":null}""").RootElement;
        Assert.Equal("title: Policy\ndays: 30\nreceipt: true", DocumentText.Of(document));
    }

    [Theory]
    [InlineData("2026-01-01T00:00:00Z", "2026-02-01T00:00:00+01:00", null)]
    [InlineData("yesterday", null, "from")]
    [InlineData(null, "2026-13-01", "to")]
    [InlineData("2026-02-01T00:00:00Z", "2026-01-01T00:00:00Z", "from")]
    public void Time_ranges_name_the_end_that_is_wrong(string? from, string? to, string? badField)
    {
        if (badField is null)
        {
            var range = TimeRange.Parse(from, to);
            Assert.Equal(TimeSpan.Zero, range.From!.Value.Offset);
            Assert.Equal(DateTimeOffset.Parse("2026-01-31T23:00:00Z"), range.To);
        }
        else
        {
            Assert.Equal(badField, Assert.Throws<ValidationFailedException>(() => TimeRange.Parse(from, to)).Errors.Keys.Single());
        }
    }
}
