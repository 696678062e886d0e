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
/// <param name="Branch">The branch the turn continues (a regenerated reply's or edited message's new branch grows from it); null: the current one.</param>
public sealed record ChatRequest(string? Content, bool UseMemory = true, bool UseFiles = true, IReadOnlyList<string>? FileIds = null, bool UseTools = true, string? Branch = null);

/// <summary>
/// Conversations with the model, grounded in the user's memory and files. A turn stores the user's
/// message first (it is never lost), gathers context, streams the model's reply to the sink as it
/// comes, then stores the reply with its citations and token usage and writes the turn to working memory.
/// </summary>
public sealed partial class ChatService(
    IConversationStore conversations, IUsageStore usage, LanguageModel model, IModelCatalog models, ChatPromptBuilder prompts, IChatContext context,
    IQuotaGate quotas, IOptions<ChatTurnOptions> settings, IAgentToolbox tools, IOptions<AgentOptions> agents, LiveReplies live, ISharedConversationStore shared,
    TimeProvider clock, ILogger<ChatService> logger)
{
    public const int DefaultPageSize = 50, MaxPageSize = 200;
    private const string IdPrefix = "conv", BranchIdPrefix = "br";

    /// <summary>Branches a conversation may have: each is a stretch of the query that reads a branch, and an entry in the conversation's record.</summary>
    public const int MaxBranches = 100;

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
        var conversation = await RequireAsync(user, conversationId, cancellationToken).ConfigureAwait(false);
        return await conversations.UpdateAsync(user.UserId, conversationId, conversation, c => c with { Title = title, TitleBy = TitleSource.Client }, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException("No such conversation.");
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

    /// <summary>The conversation and a page of one branch's messages (<paramref name="branch"/>, or the current one), oldest first.</summary>
    public async Task<(Conversation Conversation, string Branch, MessagePage Messages)> GetAsync(CurrentUser user, string conversationId, string? branch, string? cursor, int? limit,
        CancellationToken cancellationToken)
    {
        var conversation = await RequireAsync(user, conversationId, cancellationToken).ConfigureAwait(false);
        var read = BranchOf(conversation, branch);
        var messages = await conversations.ListMessagesAsync(user.UserId, conversationId, conversation.PathOf(read), string.IsNullOrEmpty(cursor) ? null : cursor, PageSize(limit),
            cancellationToken).ConfigureAwait(false);
        var now = clock.GetUtcNow();
        // A reply whose generation died with its instance reads as what it is: interrupted.
        return (conversation, read, messages with { Messages = [.. messages.Messages.Select(m => m.IsStale(now, settings.Value.ReplyStaleAfter) ? m.AsInterrupted() : m)] });
    }

    /// <summary>The conversation, whose record lists its branches and which is current.</summary>
    public Task<Conversation> GetBranchesAsync(CurrentUser user, string conversationId, CancellationToken cancellationToken) => RequireAsync(user, conversationId, cancellationToken);

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

    /// <summary>Deletes the conversation and its messages; its share links stop working first.</summary>
    public async Task DeleteAsync(CurrentUser user, string conversationId, CancellationToken cancellationToken)
    {
        var conversation = await RequireAsync(user, conversationId, cancellationToken).ConfigureAwait(false);
        foreach (var share in conversation.Shares)
            await shared.DeleteAsync(share.Id, cancellationToken).ConfigureAwait(false);
        if (!await conversations.DeleteAsync(user.UserId, conversationId, cancellationToken).ConfigureAwait(false))
            throw new NotFoundException("No such conversation.");
    }

    /// <summary>
    /// One turn on a branch (the request's, or the current one). When the model is unavailable before its first token the reply is a
    /// retrieval-only answer from the context (<see cref="ChatMessageRecord.Degraded"/>), or, with no context, a 503 with
    /// Retry-After (the user's message is stored either way). When the model stops mid-reply, what was generated is stored, marked incomplete.
    /// </summary>
    public async Task<ChatTurn> SendAsync(CurrentUser user, string conversationId, ChatRequest request, IReplySink sink, CancellationToken cancellationToken)
    {
        var content = ContentOf(request);
        var conversation = await RequireAsync(user, conversationId, cancellationToken).ConfigureAwait(false);
        var branch = BranchOf(conversation, request.Branch);
        await quotas.EnsureChatMessageAsync(user, cancellationToken).ConfigureAwait(false);
        var history = await conversations.RecentMessagesAsync(user.UserId, conversationId, conversation.PathOf(branch), settings.Value.HistoryMessages, cancellationToken).ConfigureAwait(false);
        var message = new ChatMessageRecord(NewMessageId(), conversationId, MessageRole.User, content, clock.GetUtcNow()) { Branch = StoredBranch(branch) };
        await conversations.AddMessageAsync(user.UserId, message, cancellationToken).ConfigureAwait(false);
        conversation = await MakeCurrentAsync(user, conversation, branch, cancellationToken).ConfigureAwait(false);
        return await AnswerAsync(user, conversation, branch, history, message, request, learn: true, null, sink, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Edits one of the user's messages on a branch: a new branch grows from just before it, holding the edited message and its
    /// reply; the branch it was on keeps the original and what followed.
    /// </summary>
    public async Task<ChatTurn> EditAsync(CurrentUser user, string conversationId, string messageId, ChatRequest request, IReplySink sink, CancellationToken cancellationToken)
    {
        var content = ContentOf(request);
        var conversation = await RequireAsync(user, conversationId, cancellationToken).ConfigureAwait(false);
        var parent = BranchOf(conversation, request.Branch);
        var path = conversation.PathOf(parent);
        var original = await FindOnBranchAsync(user, path, conversationId, messageId, MessageRole.User, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException("No such message of yours on this branch of the conversation.");
        await quotas.EnsureChatMessageAsync(user, cancellationToken).ConfigureAwait(false);
        var history = await conversations.RecentMessagesAsync(user.UserId, conversationId, path.Until(original.Sequence - 1), settings.Value.HistoryMessages, cancellationToken)
            .ConfigureAwait(false);
        (conversation, var branch) = await BranchAsync(user, conversation, parent, BranchKind.Edit, original.Id, original.Sequence - 1, cancellationToken).ConfigureAwait(false);
        var message = new ChatMessageRecord(NewMessageId(), conversationId, MessageRole.User, content, clock.GetUtcNow()) { Branch = branch };
        await conversations.AddMessageAsync(user.UserId, message, cancellationToken).ConfigureAwait(false);
        return await AnswerAsync(user, conversation, branch, history, message, request, learn: true, null, sink, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes a reply on a branch again (also one that was interrupted or cut off): a new branch grows from the message it answers,
    /// holding the new reply; the branch it was on keeps the earlier one as the alternative. A reply still being generated cannot be.
    /// </summary>
    public async Task<ChatTurn> RegenerateAsync(CurrentUser user, string conversationId, string replyId, ChatRequest request, IReplySink sink, CancellationToken cancellationToken)
    {
        var conversation = await RequireAsync(user, conversationId, cancellationToken).ConfigureAwait(false);
        var parent = BranchOf(conversation, request.Branch);
        var path = conversation.PathOf(parent);
        var earlier = await FindOnBranchAsync(user, path, conversationId, replyId, MessageRole.Assistant, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException("No such reply on this branch of the conversation.");
        if (earlier.Streaming == true && !earlier.IsStale(clock.GetUtcNow(), settings.Value.ReplyStaleAfter))
            throw new ConflictException("The reply is still being generated; follow it (GET …/messages/{replyId}/stream) and regenerate it once it has ended.");
        // The message it answers; a reply stored before replies named it answers the message before it.
        var question = earlier.ReplyTo is { } asked
            ? await FindOnBranchAsync(user, path, conversationId, asked, MessageRole.User, cancellationToken).ConfigureAwait(false)
            : (await conversations.RecentMessagesAsync(user.UserId, conversationId, path.Until(earlier.Sequence - 1), 1, cancellationToken).ConfigureAwait(false))
                .FirstOrDefault(m => m.Role == MessageRole.User);
        if (question is null) throw new ConflictException("The message this reply answers is no longer in the conversation, so it cannot be written again.");
        await quotas.EnsureChatMessageAsync(user, cancellationToken).ConfigureAwait(false);
        var history = await conversations.RecentMessagesAsync(user.UserId, conversationId, path.Until(question.Sequence - 1), settings.Value.HistoryMessages, cancellationToken)
            .ConfigureAwait(false);
        (conversation, var branch) = await BranchAsync(user, conversation, parent, BranchKind.Regenerate, earlier.Id, question.Sequence, cancellationToken).ConfigureAwait(false);
        // With no reply at all (the model down with nothing to fall back on), the branch would hold nothing new: it goes again.
        return await AnswerAsync(user, conversation, branch, history, question, request, learn: false, () => DropBranchAsync(user, conversationId, branch), sink, cancellationToken)
            .ConfigureAwait(false);
    }

    private string ContentOf(ChatRequest request)
    {
        var content = request.Content?.Trim();
        if (string.IsNullOrEmpty(content)) throw new ValidationFailedException("content", "'content' is required and may not be empty.");
        if (Encoding.UTF8.GetByteCount(content) > settings.Value.MaxMessageBytes)
            throw new ValidationFailedException("content", $"'content' may be at most {settings.Value.MaxMessageBytes} bytes (UTF-8).");
        return content;
    }

    /// <summary>The branch a request names (it must be one of the conversation's), or the current one.</summary>
    public static string BranchOf(Conversation conversation, string? requested)
    {
        if (string.IsNullOrEmpty(requested)) return conversation.CurrentBranch is { } current && conversation.HasBranch(current) ? current : Conversation.MainBranch;
        return conversation.HasBranch(requested)
            ? requested
            : throw new ValidationFailedException("branch", "'branch' names no branch of this conversation (GET /api/chat/conversations/{id}/branches lists them).");
    }

    /// <summary>How a message records its branch: the main branch's name none (as before there were branches).</summary>
    private static string? StoredBranch(string branch) => branch == Conversation.MainBranch ? null : branch;

    /// <summary>One of the conversation's messages, in a role, that the branch holds; null for anything else (another user's, another conversation's, another branch's).</summary>
    private async Task<ChatMessageRecord?> FindOnBranchAsync(CurrentUser user, IReadOnlyList<BranchSegment> path, string conversationId, string messageId, MessageRole role,
        CancellationToken cancellationToken) =>
        (IsWellFormedMessage(messageId) ? await conversations.FindMessageAsync(user.UserId, messageId, cancellationToken).ConfigureAwait(false) : null) is { } found
        && found.Role == role && found.ConversationId == conversationId && path.Holds(found)
            ? found
            : null;

    /// <summary>Adds a branch growing from <paramref name="parent"/> after <paramref name="forkAfter"/>, and makes it current.</summary>
    private async Task<(Conversation Conversation, string Branch)> BranchAsync(CurrentUser user, Conversation conversation, string parent, BranchKind kind, string replaces, long forkAfter,
        CancellationToken cancellationToken)
    {
        var branch = new ConversationBranch(Ids.New(BranchIdPrefix), parent, kind, replaces, forkAfter, clock.GetUtcNow());
        var updated = await conversations.UpdateAsync(user.UserId, conversation.Id, conversation, c => c.Branches.Count < MaxBranches
                ? c with { Branches = [.. c.Branches, branch], CurrentBranch = branch.Id }
                : throw new ConflictException($"This conversation has {MaxBranches} branches, the most it may have; start a new conversation to go on."), cancellationToken)
            .ConfigureAwait(false) ?? throw new NotFoundException("No such conversation.");
        return (updated, branch.Id);
    }

    /// <summary>Makes the branch a turn was sent on the one read when none is named.</summary>
    private async Task<Conversation> MakeCurrentAsync(CurrentUser user, Conversation conversation, string branch, CancellationToken cancellationToken) =>
        await conversations.UpdateAsync(user.UserId, conversation.Id, conversation, c => BranchOf(c, null) == branch ? null : c with { CurrentBranch = branch }, cancellationToken)
            .ConfigureAwait(false) ?? throw new NotFoundException("No such conversation.");

    /// <summary>Takes back a branch that was given no reply; the branch it grew from is current again.</summary>
    private async Task DropBranchAsync(CurrentUser user, string conversationId, string branch)
    {
        try
        {
            await conversations.UpdateAsync(user.UserId, conversationId, null, c => c.Branches.FirstOrDefault(b => b.Id == branch) is { } made
                ? c with { Branches = [.. c.Branches.Where(b => b.Id != branch)], CurrentBranch = c.CurrentBranch == branch ? made.Parent : c.CurrentBranch }
                : null, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogBranchNotDropped(logger, ex, conversationId); // an empty branch is left: it reads as the message without a reply
        }
    }

    /// <summary>
    /// The reply to a stored message on a branch: streamed to the sink and stored as it streams, then stored whole with its
    /// citations, usage and cost, and written to working memory (learned from, unless <paramref name="learn"/> is false).
    /// </summary>
    private async Task<ChatTurn> AnswerAsync(CurrentUser user, Conversation conversation, string branch, IReadOnlyList<ChatMessageRecord> history, ChatMessageRecord message,
        ChatRequest request, bool learn, Func<Task>? whenNoReply, IReplySink sink, CancellationToken cancellationToken)
    {
        var price = quotas.TokenPriceAsync(user, cancellationToken); // read beside the turn (the plan is cached)
        var draft = new ChatMessageRecord(NewMessageId(), conversation.Id, MessageRole.Assistant, "", clock.GetUtcNow()) { ReplyTo = message.Id, Branch = StoredBranch(branch) };
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
                result = await GenerateAsync(user, earlier, null, message.Content, [], request with { UseTools = request.UseTools && agents.Value.ChatTools }, null, message.Id, replyId,
                    recorder, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await recorder.AbandonAsync().ConfigureAwait(false); // no reply (the model was down with nothing to fall back on): no draft left
                if (whenNoReply is not null) await whenNoReply().ConfigureAwait(false);
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
        await context.RememberTurnAsync(user, conversation, message, reply, learn: learn && commandReply is null).ConfigureAwait(false);
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

    private Task<Conversation> RequireAsync(CurrentUser user, string conversationId, CancellationToken cancellationToken) =>
        RequireConversationAsync(conversations, user, conversationId, cancellationToken);

    /// <summary>The user's conversation; 404 for anything else (an id of another shape is not looked up).</summary>
    internal static async Task<Conversation> RequireConversationAsync(IConversationStore conversations, CurrentUser user, string conversationId, CancellationToken cancellationToken) =>
        (IsWellFormed(conversationId) ? await conversations.FindAsync(user.UserId, conversationId, cancellationToken).ConfigureAwait(false) : null)
        ?? throw new NotFoundException("No such conversation.");

    private static int PageSize(int? limit) =>
        PageLimit.Of(limit, DefaultPageSize, MaxPageSize);

    private const string MessageIdPrefix = "msg";

    private static string NewMessageId() => Ids.New(MessageIdPrefix);

    private static bool IsWellFormedMessage(string? id) => Ids.IsWellFormed(id, MessageIdPrefix);

    private static bool IsWellFormed(string? id) => Ids.IsWellFormed(id, IdPrefix);

    [LoggerMessage(EventId = 6009, Level = LogLevel.Warning, Message = "A branch of conversation {ConversationId} given no reply could not be taken back; it shows the message without one")]
    private static partial void LogBranchNotDropped(ILogger logger, Exception exception, string conversationId);

    [LoggerMessage(EventId = 6008, Level = LogLevel.Warning, Message = "The plan's token price could not be read ({Error}); the reply is stored without its cost")]
    private static partial void LogNoPrice(ILogger logger, string error);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Information, Message = "A chat turn reached its bound on tool calls after {Rounds} rounds without an answer; it answers with what the tools found")]
    private static partial void LogToolLimit(ILogger logger, int rounds);

    [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "The model was unavailable for a chat turn ({ErrorType}); {Outcome}")]
    private static partial void LogUnavailable(ILogger logger, string errorType, string outcome);

}
