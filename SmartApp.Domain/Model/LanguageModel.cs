using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace SmartApp.Domain.Model;

/// <summary>What one call to the model produced: the text (possibly partial), tool calls, usage, and the failure, if any.</summary>
public sealed record ModelReply(string Text, IReadOnlyList<FunctionCallContent> ToolCalls, TokenUsage? Usage, Exception? Failure)
{
    /// <summary>With a <see cref="ToolLoop"/>: the rounds of tool calls that ran.</summary>
    public int ToolRounds { get; init; }

    /// <summary>With a <see cref="ToolLoop"/>: the loop stopped at its bound on rounds or tokens.</summary>
    public bool ToolBoundReached { get; init; }

    /// <summary>The model gave nothing usable (it failed before a word, or answered with nothing): the caller falls back.</summary>
    public bool IsEmpty => Text.Trim().Length == 0 && ToolCalls.Count == 0;
}

/// <summary>Prompt and completion tokens of one model call.</summary>
public sealed record TokenUsage(int PromptTokens, int CompletionTokens)
{
    public int Total => PromptTokens + CompletionTokens;

    public static TokenUsage? Sum(TokenUsage? a, TokenUsage? b) =>
        a is null ? b : b is null ? a : new(a.PromptTokens + b.PromptTokens, a.CompletionTokens + b.CompletionTokens);
}

/// <summary>
/// Tools the model may call while it answers, run here (Microsoft.Extensions.AI's function invocation): at most
/// <see cref="MaxRounds"/> rounds (the round after is asked to answer without tools) and <see cref="MaxTokens"/> tokens
/// for all rounds together; each call and each result is reported as it happens. A tool's own time budget is its own.
/// A model that refuses a request with tools (400) is called without them for <see cref="NoToolsMemory"/>.
/// </summary>
public sealed record ToolLoop(IReadOnlyList<AIFunction> Tools, int MaxRounds, int MaxTokens, TimeSpan ToolTimeout, TimeSpan NoToolsMemory,
    Func<FunctionCallContent, CancellationToken, Task> OnCall, Func<FunctionResultContent, CancellationToken, Task> OnResult);

/// <summary>
/// The one way every capability calls the language model: within a time budget, never throwing for the model's sake.
/// A failure, a timeout or an empty answer comes back in the <see cref="ModelReply"/>, logged once here with the
/// purpose of the call, and the caller decides its fallback (sources, an extractive summary, a 503).
/// A cancellation the caller asked for is not a failure: what was generated is returned.
/// </summary>
public sealed partial class LanguageModel(IChatClient model, ILogger<LanguageModel> logger)
{
    /// <summary>Models that refused tools, and until when (<see cref="Environment.TickCount64"/>) they are called without.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _noTools = new(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="modelId"/> is taken to support tools (it has not refused them lately).</summary>
    private bool TakesTools(string? modelId) =>
        modelId is null || !_noTools.TryGetValue(modelId, out var until) || Environment.TickCount64 >= until;

    /// <summary>One whole answer within <paramref name="timeout"/>.</summary>
    public async Task<ModelReply> AnswerAsync(string purpose, IReadOnlyList<ChatMessage> prompt, ChatOptions options, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(timeout);
        try
        {
            var response = await model.GetResponseAsync(prompt, options, budget.Token).ConfigureAwait(false);
            var reply = new ModelReply(response.Text, response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().ToList(), UsageOf(response.Usage), null);
            if (reply.IsEmpty) LogEmpty(logger, purpose);
            return reply;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogFailed(logger, purpose, ex.GetType().Name, ex.Message);
            return new ModelReply("", [], null, ex);
        }
    }

    /// <summary>
    /// A streamed answer: the first token within <paramref name="firstTokenTimeout"/> (the HTTP pipeline retries before
    /// then), then at most <paramref name="idleTimeout"/> between tokens, no total bound. Each piece of text goes to
    /// <paramref name="onText"/> as it comes; tool calls arrive whole.
    /// </summary>
    public async Task<ModelReply> StreamAsync(string purpose, IReadOnlyList<ChatMessage> prompt, ChatOptions options, TimeSpan firstTokenTimeout, TimeSpan idleTimeout,
        Func<string, CancellationToken, Task> onText, CancellationToken cancellationToken, ToolLoop? tools = null)
    {
        if (tools is not null && !TakesTools(options.ModelId)) tools = null;
        var text = new StringBuilder();
        var toolCalls = new List<FunctionCallContent>();
        TokenUsage? usage = null;
        var rounds = 0;
        var boundReached = false;
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(firstTokenTimeout);
        var client = model;
        if (tools is not null)
        {
            options = options.Clone();
            options.Tools = [.. options.Tools ?? [], .. tools.Tools];
            client = new FunctionInvokingChatClient(model)
            {
                MaximumIterationsPerRequest = tools.MaxRounds,
                FunctionInvoker = async (call, ct) =>
                {
                    // The token bound: once the rounds so far have spent it, no more tools run and the loop ends here.
                    if ((usage?.Total ?? 0) >= tools.MaxTokens)
                    {
                        boundReached = true;
                        call.Terminate = true;
                        return new System.Text.Json.Nodes.JsonObject { ["error"] = "This turn's budget for looking things up is spent." };
                    }
                    return await call.Function.InvokeAsync(call.Arguments, ct).ConfigureAwait(false);
                },
            };
        }
        try
        {
            await foreach (var update in client.GetStreamingResponseAsync(prompt, options, budget.Token).WithCancellation(budget.Token).ConfigureAwait(false))
            {
                foreach (var part in update.Contents.OfType<UsageContent>()) usage = TokenUsage.Sum(usage, UsageOf(part.Details));
                if (tools is null)
                {
                    toolCalls.AddRange(update.Contents.OfType<FunctionCallContent>());
                }
                else
                {
                    var calls = update.Contents.OfType<FunctionCallContent>().Where(c => !c.InformationalOnly).ToList();
                    if (calls.Count > 0)
                    {
                        rounds++;
                        // The tools run next: their own budget, then the model's first token again.
                        budget.CancelAfter(tools.ToolTimeout + firstTokenTimeout);
                        foreach (var call in calls) await tools.OnCall(call, cancellationToken).ConfigureAwait(false);
                    }
                    foreach (var result in update.Contents.OfType<FunctionResultContent>())
                    {
                        budget.CancelAfter(firstTokenTimeout);
                        await tools.OnResult(result, cancellationToken).ConfigureAwait(false);
                    }
                }
                if (string.IsNullOrEmpty(update.Text)) continue;
                text.Append(update.Text);
                budget.CancelAfter(idleTimeout);
                await onText(update.Text, cancellationToken).ConfigureAwait(false);
            }
            return new ModelReply(text.ToString(), toolCalls, usage, null) { ToolRounds = rounds, ToolBoundReached = boundReached || (tools is not null && rounds >= tools.MaxRounds) };
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            if (tools is not null && rounds == 0 && text.Length == 0 && RefusedTools(ex))
            {
                // A model served without tool support: remembered, and this answer asked for again without them.
                _noTools[options.ModelId ?? ""] = Environment.TickCount64 + (long)tools.NoToolsMemory.TotalMilliseconds;
                LogToolsRefused(logger, options.ModelId ?? "", ex.Message);
                options.Tools = options.Tools?.Where(t => !tools.Tools.Contains(t)).ToList() is { Count: > 0 } rest ? rest : null;
                return await StreamAsync(purpose, prompt, options, firstTokenTimeout, idleTimeout, onText, cancellationToken).ConfigureAwait(false);
            }
            LogFailed(logger, purpose, ex.GetType().Name, ex.Message);
            return new ModelReply(text.ToString(), toolCalls, usage, ex) { ToolRounds = rounds };
        }
        catch (OperationCanceledException)
        {
            return new ModelReply(text.ToString(), toolCalls, usage, null) { ToolRounds = rounds }; // the caller left: keep what was generated
        }
    }

    /// <summary>The provider refused the request as such (400, 422), which with tools declared means the model does not take tools.</summary>
    private static bool RefusedTools(Exception ex) => ex is System.ClientModel.ClientResultException { Status: 400 or 422 };

    /// <summary>"The model is unavailable, here is what your sources say": the lead, then each source numbered as cited.</summary>
    public static string SourcesAnswer(string lead, IEnumerable<string> sources)
    {
        var answer = new StringBuilder(lead);
        var number = 0;
        foreach (var source in sources) answer.Append("\n[").Append(++number).Append("] ").Append(source);
        return answer.ToString();
    }

    private static TokenUsage? UsageOf(UsageDetails? details) =>
        details is null ? null : new TokenUsage((int)(details.InputTokenCount ?? 0), (int)(details.OutputTokenCount ?? 0));

    [LoggerMessage(EventId = 6010, Level = LogLevel.Warning, Message = "The model failed to {Purpose} ({ErrorType}: {Error}); the caller falls back")]
    private static partial void LogFailed(ILogger logger, string purpose, string errorType, string error);

    [LoggerMessage(EventId = 6012, Level = LogLevel.Warning, Message = "The model {Model} refused a request with tools ({Error}); it is called without them for a while")]
    private static partial void LogToolsRefused(ILogger logger, string model, string error);

    [LoggerMessage(EventId = 6011, Level = LogLevel.Warning, Message = "The model answered nothing when asked to {Purpose}; the caller falls back")]
    private static partial void LogEmpty(ILogger logger, string purpose);
}
