using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace SmartApp.Domain.Model;

/// <summary>What one call to the model produced: the text (possibly partial), tool calls, usage, and the failure, if any.</summary>
public sealed record ModelReply(string Text, IReadOnlyList<FunctionCallContent> ToolCalls, TokenUsage? Usage, Exception? Failure)
{
    /// <summary>The model gave nothing usable (it failed before a word, or answered with nothing): the caller falls back.</summary>
    public bool IsEmpty => Text.Trim().Length == 0 && ToolCalls.Count == 0;
}

/// <summary>Prompt and completion tokens of one model call.</summary>
public sealed record TokenUsage(int PromptTokens, int CompletionTokens);

/// <summary>
/// The one way every capability calls the language model: within a time budget, never throwing for the model's sake.
/// A failure, a timeout or an empty answer comes back in the <see cref="ModelReply"/>, logged once here with the
/// purpose of the call, and the caller decides its fallback (sources, an extractive summary, a 503).
/// A cancellation the caller asked for is not a failure: what was generated is returned.
/// </summary>
public sealed partial class LanguageModel(IChatClient model, ILogger<LanguageModel> logger)
{
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
        Func<string, CancellationToken, Task> onText, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        var toolCalls = new List<FunctionCallContent>();
        TokenUsage? usage = null;
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(firstTokenTimeout);
        try
        {
            await foreach (var update in model.GetStreamingResponseAsync(prompt, options, budget.Token).WithCancellation(budget.Token).ConfigureAwait(false))
            {
                foreach (var part in update.Contents.OfType<UsageContent>()) usage = UsageOf(part.Details);
                toolCalls.AddRange(update.Contents.OfType<FunctionCallContent>());
                if (string.IsNullOrEmpty(update.Text)) continue;
                text.Append(update.Text);
                budget.CancelAfter(idleTimeout);
                await onText(update.Text, cancellationToken).ConfigureAwait(false);
            }
            return new ModelReply(text.ToString(), toolCalls, usage, null);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogFailed(logger, purpose, ex.GetType().Name, ex.Message);
            return new ModelReply(text.ToString(), toolCalls, usage, ex);
        }
        catch (OperationCanceledException)
        {
            return new ModelReply(text.ToString(), toolCalls, usage, null); // the caller left: keep what was generated
        }
    }

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

    [LoggerMessage(EventId = 6011, Level = LogLevel.Warning, Message = "The model answered nothing when asked to {Purpose}; the caller falls back")]
    private static partial void LogEmpty(ILogger logger, string purpose);
}
