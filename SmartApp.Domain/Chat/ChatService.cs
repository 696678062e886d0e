using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Agents;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Quotas;
using SmartApp.Domain.Common.Telemetry;
using SmartApp.Domain.Identity;
using SmartApp.Domain.Model;

namespace SmartApp.Domain.Chat;

/// <summary>What the user sends in one turn.</summary>
public sealed record ChatRequest(string? Content, bool UseMemory = true, bool UseFiles = true, IReadOnlyList<string>? FileIds = null, bool UseTools = true);

/// <summary>
/// Conversations with the model, grounded in the user's memory and files. A turn stores the user's
/// message first (it is never lost), gathers context, streams the model's reply to the sink as it
/// comes, then stores the reply with its citations and token usage and writes the turn to working memory.
/// </summary>
public sealed partial class ChatService(
    IConversationStore conversations, IUsageStore usage, LanguageModel model, IModelCatalog models, ChatPromptBuilder prompts, IChatContext context,
    IQuotaGate quotas, IOptions<ChatTurnOptions> settings, IAgentToolbox tools, IOptions<AgentOptions> agents, LiveReplies live, TimeProvider clock, ILogger<ChatService> logger)
{
    public const int DefaultPageSize = 50, MaxPageSize = 200;
    private const string IdPrefix = "conv";

    /// <summary>Longest title a client may give a conversation.</summary>
    internal const int MaxTitleLength = 200;

    /// <summary>Temperature of a reply when the client sets none: mostly faithful to the sources, not robotic.</summary>
    internal const float DefaultTemperature = 0.3f;

    /// <summary>What a turn whose tool calls reached the turn's bound says, when the model gave no answer of its own.</summary>
    internal const string ToolLimitLead = "I stopped looking things up: this turn reached its limit of lookups before I could finish an answer. This is what I found:";

    internal const string ToolLimitNothing = "I stopped looking things up: this turn reached its limit of lookups, and I found nothing that answers it. Try asking more narrowly.";

    /// <summary>What a turn that fell back to its sources says first.</summary>
    internal const string SourcesLead = "The language model is unavailable right now. This is what your memory and files say that may help:";

    public async Task<Conversation> StartAsync(CurrentUser user, string? title, CancellationToken cancellationToken)
    {
        if (title is { Length: > MaxTitleLength }) throw new ValidationFailedException("title", $"'title' may be at most {MaxTitleLength} characters.");
        var now = clock.GetUtcNow();
        var conversation = new Conversation(Ids.New(IdPrefix), string.IsNullOrWhiteSpace(title) ? null : title.Trim(), now, now)
        {
            TitleBy = string.IsNullOrWhiteSpace(title) ? null : TitleSource.Client,
        };
        await conversations.CreateAsync(user.UserId, conversation, cancellationToken).ConfigureAwait(false);
        return conversation;
    }

    /// <summary>Names the conversation; a title the client gives is never replaced by a written one.</summary>
    public async Task<Conversation> RenameAsync(CurrentUser user, string conversationId, string? title, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(title)) throw new ValidationFailedException("title", "'title' is required and may not be empty.");
        title = title.Trim();
        if (title.Length > MaxTitleLength) throw new ValidationFailedException("title", $"'title' may be at most {MaxTitleLength} characters.");
        if (title.Any(char.IsControl)) throw new ValidationFailedException("title", "'title' may not contain control characters.");
        while (true)
        {
            var conversation = await RequireAsync(user, conversationId, cancellationToken).ConfigureAwait(false);
            if (await conversations.TryUpdateAsync(user.UserId, conversation with { Title = title, TitleBy = TitleSource.Client }, cancellationToken).ConfigureAwait(false) is { } renamed)
                return renamed;
        }
    }

    /// <summary>
    /// Messages across all the user's conversations, by the hybrid search over the turns kept in working memory (its
    /// <c>chat</c> timeline), each pointing at its conversation and message; a deleted conversation's are left out.
    /// </summary>
    public Task<IReadOnlyList<ConversationSearchHit>> SearchAsync(CurrentUser user, string? query, int? limit, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(query)) throw new ValidationFailedException("query", "'query' is required: the words or question to search for.");
        if (Encoding.UTF8.GetByteCount(query) > settings.Value.MaxMessageBytes)
            throw new ValidationFailedException("query", $"'query' may be at most {settings.Value.MaxMessageBytes} bytes (UTF-8).");
        return context.SearchConversationsAsync(user, query.Trim(), PageLimit.Of(limit, 10, 50), cancellationToken);
    }

    public Task<ConversationPage> ListAsync(CurrentUser user, string? cursor, int? limit, CancellationToken cancellationToken) =>
        conversations.ListAsync(user.UserId, string.IsNullOrEmpty(cursor) ? null : cursor, PageSize(limit), cancellationToken);

    public async Task<(Conversation Conversation, MessagePage Messages)> GetAsync(CurrentUser user, string conversationId, string? cursor, int? limit, CancellationToken cancellationToken)
    {
        var conversation = await RequireAsync(user, conversationId, cancellationToken).ConfigureAwait(false);
        var messages = await conversations.ListMessagesAsync(user.UserId, conversationId, string.IsNullOrEmpty(cursor) ? null : cursor, PageSize(limit), cancellationToken).ConfigureAwait(false);
        var now = clock.GetUtcNow();
        // A reply whose generation died with its instance reads as what it is: interrupted.
        return (conversation, messages with { Messages = [.. messages.Messages.Select(m => m.IsStale(now, settings.Value.ReplyStaleAfter) ? m.AsInterrupted() : m)] });
    }

    /// <summary>
    /// A reply's stream again, for a client that lost its connection: the text after <paramref name="after"/> characters (what the
    /// client had: its last event's id), then, while the reply is still being generated (on this instance or another), the rest as
    /// it is stored. A reply whose generation has stopped being written for <see cref="ChatTurnOptions.ReplyStaleAfter"/> is marked
    /// interrupted. Returns the reply as it ended.
    /// </summary>
    public async Task<ChatMessageRecord> ResumeAsync(CurrentUser user, string conversationId, string replyId, int after, IReplySink sink, CancellationToken cancellationToken)
    {
        // Another conversation's reply, a user's message or one deleted meanwhile (with its conversation) are all "no such reply".
        async Task<ChatMessageRecord> ReadAsync() =>
            (IsWellFormedMessage(replyId) ? await conversations.FindMessageAsync(user.UserId, replyId, cancellationToken).ConfigureAwait(false) : null) is
            { Role: MessageRole.Assistant } found && found.ConversationId == conversationId && IsWellFormed(conversationId)
                ? found
                : throw new NotFoundException("No such reply in this conversation.");

        var sent = Math.Max(0, after);
        async Task SendAfterAsync(string text)
        {
            if (text.Length <= sent) return;
            await sink.DeltaAsync(text[sent..], cancellationToken).ConfigureAwait(false);
            sent = text.Length;
        }

        var reply = await ReadAsync().ConfigureAwait(false);
        await sink.StartAsync(reply.ReplyTo ?? "", reply.Id, reply.Citations, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            // Generated here: follow it as it is made, not as it is stored.
            if (live.Find(reply.Id) is { } generating)
            {
                var (text, ended, changed) = generating.Snapshot();
                await SendAfterAsync(text).ConfigureAwait(false);
                if (!ended)
                {
                    try
                    {
                        await changed.WaitAsync(settings.Value.ReplyHeartbeat, clock, cancellationToken).ConfigureAwait(false);
                    }
                    catch (TimeoutException)
                    {
                        // nothing new for a while (a tool round, a slow model): look again
                    }
                    continue;
                }
                reply = await ReadAsync().ConfigureAwait(false);
            }
            await SendAfterAsync(reply.Content).ConfigureAwait(false);
            if (reply.Streaming != true) return reply;
            if (reply.IsStale(clock.GetUtcNow(), settings.Value.ReplyStaleAfter))
            {
                reply = await conversations.TryMarkInterruptedAsync(user.UserId, reply.Id, clock.GetUtcNow() - settings.Value.ReplyStaleAfter, cancellationToken).ConfigureAwait(false)
                    ?? throw new NotFoundException("No such reply in this conversation.");
                continue;
            }
            await Task.Delay(settings.Value.ResumePollInterval, clock, cancellationToken).ConfigureAwait(false);
            reply = await ReadAsync().ConfigureAwait(false);
        }
    }

    public async Task DeleteAsync(CurrentUser user, string conversationId, CancellationToken cancellationToken)
    {
        if (!IsWellFormed(conversationId) || !await conversations.DeleteAsync(user.UserId, conversationId, cancellationToken).ConfigureAwait(false))
            throw new NotFoundException("No such conversation.");
    }

    /// <summary>
    /// One turn. When the model is unavailable before its first token the reply is a retrieval-only
    /// answer from the context (<see cref="ChatMessageRecord.Degraded"/>), or, with no context, a 503
    /// with Retry-After (the user's message is stored either way). When the client leaves or the model
    /// stops mid-reply, what was generated is stored, marked incomplete.
    /// </summary>
    public async Task<ChatTurn> SendAsync(CurrentUser user, string conversationId, ChatRequest request, IReplySink sink, CancellationToken cancellationToken)
    {
        var content = request.Content?.Trim();
        if (string.IsNullOrEmpty(content)) throw new ValidationFailedException("content", "'content' is required and may not be empty.");
        if (Encoding.UTF8.GetByteCount(content) > settings.Value.MaxMessageBytes)
            throw new ValidationFailedException("content", $"'content' may be at most {settings.Value.MaxMessageBytes} bytes (UTF-8).");
        var conversation = await RequireAsync(user, conversationId, cancellationToken).ConfigureAwait(false);
        await quotas.EnsureChatMessageAsync(user, cancellationToken).ConfigureAwait(false);
        var price = quotas.TokenPriceAsync(user, cancellationToken); // read beside the turn (the plan is cached)

        var history = await conversations.RecentMessagesAsync(user.UserId, conversationId, settings.Value.HistoryMessages, cancellationToken).ConfigureAwait(false);
        var message = new ChatMessageRecord(NewMessageId(), conversationId, MessageRole.User, content, clock.GetUtcNow());
        await conversations.AddMessageAsync(user.UserId, message, cancellationToken).ConfigureAwait(false);

        var draft = new ChatMessageRecord(NewMessageId(), conversationId, MessageRole.Assistant, "", clock.GetUtcNow()) { ReplyTo = message.Id };
        var replyId = draft.Id;
        // "Remember that …" and "forget …" are carried out by rule, without the model.
        var commandReply = await context.RunMemoryCommandAsync(user, message, cancellationToken).ConfigureAwait(false);
        ChatResult result;
        ReplyRecorder? recorder = null;
        if (commandReply is not null)
        {
            await sink.StartAsync(message.Id, replyId, [], cancellationToken).ConfigureAwait(false);
            await sink.DeltaAsync(commandReply, cancellationToken).ConfigureAwait(false);
            result = new ChatResult(commandReply, [], new TokenUsage(0, 0), false, false, null, "");
        }
        else
        {
            // The reply is stored as it streams, so a client that loses its connection can follow it again, from any instance.
            recorder = new ReplyRecorder(conversations, live, user.UserId, draft, sink, settings.Value.ReplyFlushInterval, settings.Value.ReplyHeartbeat, clock, logger);
            var earlier = history.Select(m => new ChatMessage(m.Role == MessageRole.User ? ChatRole.User : ChatRole.Assistant, m.Content)).ToList();
            try
            {
                result = await GenerateAsync(user, earlier, null, content, [], request with { UseTools = request.UseTools && agents.Value.ChatTools }, null, message.Id, replyId,
                    recorder, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await recorder.AbandonAsync().ConfigureAwait(false); // no reply (the model was down with nothing to fall back on): no draft left
                throw;
            }
            await recorder.StopAsync().ConfigureAwait(false);
        }
        var reply = draft with
        {
            Content = result.Text,
            Cost = await CostAsync(price, result).ConfigureAwait(false),
            Citations = result.Citations,
            Usage = result.Usage,
            Degraded = result.Degraded,
            Incomplete = result.Incomplete,
            ToolCalls = result.ToolActivity.Count > 0 ? result.ToolActivity : null,
            ToolLimitReached = result.ToolLimitReached ? true : null,
            UpdatedAt = clock.GetUtcNow(),
        };
        // The reply is stored even when the client has gone: what was generated is never lost.
        try
        {
            await conversations.AddMessageAsync(user.UserId, reply, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            recorder?.End();
        }
        await context.RememberTurnAsync(user, conversation, message, reply, learn: commandReply is null).ConfigureAwait(false);
        ThrowIfCutOff(result, cancellationToken);
        return new ChatTurn(message, reply);
    }

    /// <summary>What the reply's tokens cost on the user's plan; none when the plan could not be read (the reply is stored regardless).</summary>
    private async Task<MessageCost?> CostAsync(Task<TokenPrice> price, ChatResult result)
    {
        try
        {
            var tokenPrice = await price.ConfigureAwait(false);
            return new MessageCost(tokenPrice.Plan, tokenPrice.Of(result.Degraded ? 0 : result.Usage.Total));
        }
        catch (Exception ex)
        {
            LogNoPrice(logger, ex.GetType().Name);
            return null;
        }
    }

    /// <summary>
    /// A completion for an OpenAI-style request: the client's messages are the history (its system
    /// messages rank below SmartApp's own instructions), the last user message is the question, and
    /// the same grounding, fallbacks and usage accounting apply. A tool round may follow the question
    /// (the model's calls, then the client's results). Nothing is stored as a conversation.
    /// </summary>
    public async Task<ChatResult> CompleteAsync(CurrentUser user, IReadOnlyList<ChatMessage> messages, ModelTuning? tuning, IReplySink sink, CancellationToken cancellationToken)
    {
        if (tuning?.MaxTokens is { } maxTokens && (maxTokens < 1 || maxTokens > settings.Value.MaxReplyTokens))
            throw new ValidationFailedException("max_tokens", $"'max_tokens' must be between 1 and {settings.Value.MaxReplyTokens}.");
        if (tuning?.Model is { } requested && !(await models.ServedAsync(cancellationToken).ConfigureAwait(false)).Contains(requested))
            throw new NotFoundException($"The model '{requested}' does not exist or is not served; GET /api/v1/models lists those that are.");
        EnsureToolRoundsAreWhole(messages);
        var questionAt = LastIndex(messages, m => m.Role == ChatRole.User);
        var question = questionAt < 0 ? "" : messages[questionAt].Text;
        // After the question only a tool round may come: the model's calls and the caller's results.
        var toolRound = messages.Skip(questionAt + 1).ToList();
        if (string.IsNullOrWhiteSpace(question) || toolRound.Any(m => m.Role != ChatRole.Tool && !(m.Role == ChatRole.Assistant && m.Contents.OfType<FunctionCallContent>().Any()))
            || (toolRound.Count > 0 && toolRound[^1].Role != ChatRole.Tool))
            throw new ValidationFailedException("messages", "The last message must be a non-empty message from the user, or the results of the tool calls that followed it.");
        if (Encoding.UTF8.GetByteCount(question) > settings.Value.MaxMessageBytes)
            throw new ValidationFailedException("messages", $"The last user message may be at most {settings.Value.MaxMessageBytes} bytes (UTF-8).");
        await quotas.EnsureChatMessageAsync(user, cancellationToken).ConfigureAwait(false);
        var history = messages.Take(questionAt).Where(m => m.Role != ChatRole.System).TakeLast(settings.Value.HistoryMessages).ToList();
        var appInstructions = string.Join("\n", messages.Where(m => m.Role == ChatRole.System).Select(m => m.Text));
        // The client's system and developer messages, its tool round and its tools' declarations go to the paid model on every
        // call: they are bounded like a message in bytes, and together with SmartApp's instructions and the question they must
        // fit the prompt's budget.
        if (Encoding.UTF8.GetByteCount(appInstructions) > settings.Value.MaxMessageBytes)
            throw new ValidationFailedException("messages", $"System and developer messages may be at most {settings.Value.MaxMessageBytes} bytes (UTF-8) together.");
        prompts.EnsureFits(appInstructions, question, toolRound, tuning?.Tools);
        var result = await GenerateAsync(user, history, appInstructions.Length > 0 ? appInstructions : null, question.Trim(), toolRound, new ChatRequest(question, UseTools: tuning?.SmartAppTools == true), tuning, NewMessageId(), NewMessageId(), sink, cancellationToken)
            .ConfigureAwait(false);
        ThrowIfCutOff(result, cancellationToken);
        return result;
    }

    /// <summary>Each assistant message's tool calls are answered, one tool message per call, right after it, as the model requires.</summary>
    private static void EnsureToolRoundsAreWhole(IReadOnlyList<ChatMessage> messages)
    {
        var pending = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            if (message.Role == ChatRole.Tool)
            {
                foreach (var result in message.Contents.OfType<FunctionResultContent>())
                    if (!pending.Remove(result.CallId))
                        throw new ValidationFailedException($"messages[{i}].tool_call_id", $"'{result.CallId}' answers no open tool call of the assistant message before it.");
                continue;
            }
            if (pending.Count > 0)
                throw new ValidationFailedException($"messages[{i}]", $"The tool call '{pending.First()}' has no tool message answering it before this message.");
            foreach (var call in message.Contents.OfType<FunctionCallContent>())
                if (!pending.Add(call.CallId)) throw new ValidationFailedException($"messages[{i}].tool_calls", $"The tool call id '{call.CallId}' is used twice.");
        }
    }

    private static int LastIndex(IReadOnlyList<ChatMessage> messages, Func<ChatMessage, bool> match)
    {
        for (var i = messages.Count - 1; i >= 0; i--)
            if (match(messages[i])) return i;
        return -1;
    }

    /// <summary>Context, prompt, the model's streamed reply (or the retrieval-only fallback), and the usage it cost.</summary>
    private async Task<ChatResult> GenerateAsync(CurrentUser user, IReadOnlyList<ChatMessage> history, string? appInstructions, string content, IReadOnlyList<ChatMessage> toolRound,
        ChatRequest request, ModelTuning? tuning, string messageId, string replyId, IReplySink sink, CancellationToken cancellationToken)
    {
        var citations = await context.GatherAsync(user, content, request, cancellationToken).ConfigureAwait(false);
        var prompt = prompts.Build(history, appInstructions, citations, content, toolRound, tuning?.Tools);
        var options = new ChatOptions
        {
            ModelId = tuning?.Model ?? await models.DefaultModelAsync(cancellationToken).ConfigureAwait(false),
            MaxOutputTokens = tuning?.MaxTokens ?? settings.Value.MaxReplyTokens,
            Temperature = tuning?.Temperature ?? DefaultTemperature,
            TopP = tuning?.TopP,
            StopSequences = tuning?.Stop?.ToList(),
            Seed = tuning?.Seed,
            ResponseFormat = tuning?.ResponseFormat,
            PresencePenalty = tuning?.PresencePenalty,
            FrequencyPenalty = tuning?.FrequencyPenalty,
            Tools = tuning?.Tools?.ToList(),
            ToolMode = tuning?.ToolMode,
        };
        await sink.StartAsync(messageId, replyId, citations, cancellationToken).ConfigureAwait(false);

        // SmartApp's tools over the user's own data, unless the client brought tools of its own (an OpenAI-style tool round is the client's).
        var findings = new ToolFindings();
        var activity = new List<ToolActivity>();
        var loop = request.UseTools && tuning?.Tools is null && toolRound.Count == 0
            ? new ToolLoop(tools.For(user, findings), agents.Value.MaxToolRounds, agents.Value.MaxTurnTokens, agents.Value.ToolTimeout, agents.Value.NoToolsModelMemory,
                async (call, ct) =>
                {
                    var started = new ToolActivity(call.CallId, call.Name, JsonSerializer.SerializeToElement(call.Arguments ?? new Dictionary<string, object?>(), JsonDefaults.Options));
                    lock (activity) activity.Add(started);
                    await sink.ToolCallAsync(started, ct).ConfigureAwait(false);
                },
                async (result, ct) =>
                {
                    ToolActivity finished;
                    lock (activity)
                    {
                        var at = activity.FindIndex(a => a.CallId == result.CallId);
                        if (at < 0) return;
                        finished = activity[at] = activity[at] with { Result = JsonSerializer.SerializeToElement(result.Result, JsonDefaults.Options) };
                    }
                    await sink.ToolResultAsync(finished, ct).ConfigureAwait(false);
                })
            : null;

        var reply = await model.StreamAsync("reply in a chat turn", prompt, options, settings.Value.FirstTokenTimeout, settings.Value.IdleTimeout, sink.DeltaAsync, cancellationToken, loop)
            .ConfigureAwait(false);
        citations = Merge(citations, findings.Citations);
        var text = reply.Text;
        var degraded = false;
        var incomplete = false;
        if (reply.Failure is not null && reply.Text.Length == 0 && reply.ToolCalls.Count == 0 && !cancellationToken.IsCancellationRequested)
        {
            if (citations.Count == 0)
            {
                LogUnavailable(logger, reply.Failure.GetType().Name, "no context to fall back on");
                throw new UpstreamUnavailableException("The language model is unavailable; try again shortly.", settings.Value.OutageRetryAfter);
            }
            LogUnavailable(logger, reply.Failure.GetType().Name, "answered from memory and files");
            text = LanguageModel.SourcesAnswer(SourcesLead, citations.Select(c => c.Text));
            await sink.DeltaAsync(text, cancellationToken).ConfigureAwait(false);
            degraded = true;
        }
        else if (reply.Failure is not null || cancellationToken.IsCancellationRequested)
        {
            incomplete = true;
        }
        else if (reply.ToolBoundReached && text.Trim().Length == 0)
        {
            // The model kept calling tools to the bound and wrote nothing: the answer is what its lookups found.
            LogToolLimit(logger, reply.ToolRounds);
            text = findings.Citations.Count == 0 ? ToolLimitNothing : LanguageModel.SourcesAnswer(ToolLimitLead, findings.Citations.Select(c => c.Text));
            await sink.DeltaAsync(text, cancellationToken).ConfigureAwait(false);
        }

        var usageSpent = reply.Usage ?? new TokenUsage(prompt.Sum(ChatPromptBuilder.Cost), degraded ? 0 : ChatPromptBuilder.CompletionCost(text, reply.ToolCalls));
        if (!degraded)
        {
            await usage.AddAsync(user.UserId, clock.GetUtcNow(), usageSpent, CancellationToken.None).ConfigureAwait(false);
            SmartAppTelemetry.ModelTokens.Add(usageSpent.PromptTokens, new KeyValuePair<string, object?>("direction", "prompt"));
            SmartAppTelemetry.ModelTokens.Add(usageSpent.CompletionTokens, new KeyValuePair<string, object?>("direction", "completion"));
        }
        return new ChatResult(text, citations, usageSpent, degraded, incomplete, reply.Failure, options.ModelId)
        {
            ToolCalls = reply.ToolCalls, ToolActivity = activity, ToolLimitReached = reply.ToolBoundReached,
        };
    }

    /// <summary>The turn's context, then what its tool calls found that the context did not have.</summary>
    private static List<Citation> Merge(List<Citation> context, IReadOnlyList<Citation> found)
    {
        if (found.Count == 0) return context;
        var seen = context.Select(Key).ToHashSet(StringComparer.Ordinal);
        return [.. context, .. found.Where(c => seen.Add(Key(c)))];

        static string Key(Citation c) => c.ChunkId ?? c.MemoryId ?? c.Text;
    }

    /// <summary>A reply the model broke off (not the client) ends as an error after what it wrote is kept.</summary>
    private void ThrowIfCutOff(ChatResult result, CancellationToken cancellationToken)
    {
        if (result.Failure is not null && result.Incomplete && !cancellationToken.IsCancellationRequested)
            throw new UpstreamUnavailableException("The language model stopped before finishing the reply; what it wrote is stored, marked incomplete.", settings.Value.OutageRetryAfter, result.Failure);
    }

    private async Task<Conversation> RequireAsync(CurrentUser user, string conversationId, CancellationToken cancellationToken) =>
        (IsWellFormed(conversationId) ? await conversations.FindAsync(user.UserId, conversationId, cancellationToken).ConfigureAwait(false) : null)
        ?? throw new NotFoundException("No such conversation.");

    private static int PageSize(int? limit) =>
        PageLimit.Of(limit, DefaultPageSize, MaxPageSize);

    private const string MessageIdPrefix = "msg";

    private static string NewMessageId() => Ids.New(MessageIdPrefix);

    private static bool IsWellFormedMessage(string? id) => Ids.IsWellFormed(id, MessageIdPrefix);

    private static bool IsWellFormed(string? id) => Ids.IsWellFormed(id, IdPrefix);

    [LoggerMessage(EventId = 6008, Level = LogLevel.Warning, Message = "The plan's token price could not be read ({Error}); the reply is stored without its cost")]
    private static partial void LogNoPrice(ILogger logger, string error);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Information, Message = "A chat turn reached its bound on tool calls after {Rounds} rounds without an answer; it answers with what the tools found")]
    private static partial void LogToolLimit(ILogger logger, int rounds);

    [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "The model was unavailable for a chat turn ({ErrorType}); {Outcome}")]
    private static partial void LogUnavailable(ILogger logger, string errorType, string outcome);

}
