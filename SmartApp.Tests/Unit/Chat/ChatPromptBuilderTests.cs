using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Chat;
using SmartApp.Domain.Common.Errors;

namespace SmartApp.Tests.Unit;

/// <summary>The prompt of a turn within its token budget: what is kept, what goes first, and what is refused before the model is asked.</summary>
[Trait("Category", "Unit")]
public sealed class ChatPromptBuilderTests
{
    private static ChatPromptBuilder Builder(int budget) => new(Options.Create(new ChatTurnOptions { PromptTokenBudget = budget }));

    private static readonly string Fixed = ChatPromptBuilder.Instructions;

    private static int Count(string text) => ChatPromptBuilder.Count(text);

    private static Citation Source(string text) => new(Citation.MemoryType, 1, text) { Kind = "semantic" };

    private static List<ChatMessage> History(int turns) =>
        Enumerable.Range(1, turns).Select(i => new ChatMessage(i % 2 == 1 ? ChatRole.User : ChatRole.Assistant, $"earlier message number {i}")).ToList();

    [Fact]
    public void With_room_for_everything_the_prompt_is_instructions_sources_history_then_the_message()
    {
        var prompt = Builder(8000).Build(History(4), null, [Source("likes tea")], "What do I drink?", [], null);

        Assert.Equal(ChatRole.System, prompt[0].Role);
        Assert.Equal(Fixed, prompt[0].Text);
        Assert.Contains("likes tea", prompt[1].Text);
        Assert.Equal(["earlier message number 1", "earlier message number 2", "earlier message number 3", "earlier message number 4"],
            prompt.Skip(2).Take(4).Select(m => m.Text));
        Assert.Equal("What do I drink?", prompt[^1].Text);
        Assert.Equal(ChatRole.User, prompt[^1].Role);
    }

    [Fact]
    public void A_short_budget_drops_the_oldest_history_first_and_never_the_message()
    {
        var history = History(10);
        var message = "What did I say last?";
        // Room for the instructions, the message and exactly the three newest earlier messages.
        var budget = Count(Fixed) + Count(message) + history.TakeLast(3).Sum(ChatPromptBuilder.Cost);

        var prompt = Builder(budget).Build(history, null, [], message, [], null);

        Assert.Equal(["earlier message number 8", "earlier message number 9", "earlier message number 10", message], prompt.Skip(1).Select(m => m.Text));
    }

    [Fact]
    public void Sources_come_before_history_and_stop_at_the_first_that_does_not_fit()
    {
        var message = "Tell me";
        var small = Source("short fact");
        var big = Source(string.Join(' ', Enumerable.Repeat("long", 400)));
        var budget = Count(Fixed) + Count(message) + Count(small.Text) + ChatPromptBuilder.SourceOverhead + 2;

        var prompt = Builder(budget).Build(History(6), null, [small, big, Source("never reached")], message, [], null);

        var sources = Assert.Single(prompt, m => m.Text.StartsWith("Sources", StringComparison.Ordinal));
        Assert.Contains("short fact", sources.Text);
        Assert.DoesNotContain("long long", sources.Text);
        Assert.DoesNotContain("never reached", sources.Text);
        Assert.DoesNotContain(prompt, m => m.Text.StartsWith("earlier", StringComparison.Ordinal)); // what was left went to no history
    }

    [Fact]
    public void An_earlier_tool_round_cut_by_the_budget_is_dropped_whole_not_left_as_orphan_results()
    {
        var call = new FunctionCallContent("call_1", "lookup", new Dictionary<string, object?> { ["q"] = "x" });
        var history = new List<ChatMessage>
        {
            new(ChatRole.User, "first question"),
            new(ChatRole.Assistant, [call]),
            new(ChatRole.Tool, [new FunctionResultContent("call_1", "result text")]),
            new(ChatRole.Assistant, "answer after the tool"),
        };
        var message = "next";
        // Room for the last two messages only: the tool result, and the answer after it.
        var budget = Count(Fixed) + Count(message) + history.TakeLast(2).Sum(ChatPromptBuilder.Cost);

        var prompt = Builder(budget).Build(history, null, [], message, [], null);

        Assert.DoesNotContain(prompt, m => m.Role == ChatRole.Tool);
        Assert.Equal(["answer after the tool", message], prompt.Skip(1).Select(m => m.Text));
    }

    [Fact]
    public void The_apps_instructions_rank_below_smartapps_and_count_against_the_budget()
    {
        var prompt = Builder(8000).Build([], "Answer in French.", [], "Hi", [], null);

        Assert.Equal(Fixed, prompt[0].Text);
        Assert.EndsWith("Answer in French.", prompt[1].Text);
        Assert.Contains("cannot override", prompt[1].Text);
    }

    [Fact]
    public void A_request_whose_fixed_part_cannot_fit_is_refused_naming_its_cost_and_the_budget()
    {
        var question = string.Join(' ', Enumerable.Repeat("word", 700));
        var error = Assert.Throws<ValidationFailedException>(() => Builder(600).EnsureFits(null, question, [], null));

        Assert.Contains("messages", error.Errors.Keys);
        Assert.Contains("at most 600", error.Errors["messages"][0]);
    }

    [Fact]
    public void Tool_declarations_count_against_the_budget()
    {
        var question = "Weather?";
        var tool = AIFunctionFactory.CreateDeclaration("get_weather", string.Join(' ', Enumerable.Repeat("a very long description", 60)),
            System.Text.Json.JsonDocument.Parse("""{"type":"object","properties":{"city":{"type":"string"}}}""").RootElement);
        var withoutTools = Count(Fixed) + Count(question);

        Builder(withoutTools + 5).EnsureFits(null, question, [], null); // fits without the tool
        Assert.Throws<ValidationFailedException>(() => Builder(withoutTools + 5).EnsureFits(null, question, [], [tool]));
    }
}
