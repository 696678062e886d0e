using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common;
using SmartApp.Domain.Files;
using SmartApp.Domain.Identity;
using SmartApp.Domain.Memory;
using SmartApp.Domain.Memory.Learning;

namespace SmartApp.Domain.Chat;

/// <summary>What a turn knows of the user (their memories and files) and what it leaves in their memory.</summary>
public interface IChatContext
{
    /// <summary>The user's best file passages and memories for the message, as citations (files first).</summary>
    Task<List<Citation>> GatherAsync(CurrentUser user, string content, ChatRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Writes a stored turn to the conversation's working-memory session and asks for learning from it (unless
    /// <paramref name="learn"/> is false); never fails the turn.
    /// </summary>
    Task RememberTurnAsync(CurrentUser user, Conversation conversation, ChatMessageRecord message, ChatMessageRecord reply, bool learn = true);

    /// <summary>
    /// Messages across all the user's conversations, by the hybrid search over the turns kept in working memory (the <c>chat</c>
    /// timeline), each pointing at its conversation and message; a deleted conversation's are left out.
    /// </summary>
    Task<IReadOnlyList<ConversationSearchHit>> SearchConversationsAsync(CurrentUser user, string query, int limit, CancellationToken cancellationToken);

    /// <summary>Carries out a "remember that …" or "forget …" message without the model: the reply's text, or null when the message is not one.</summary>
    Task<string?> RunMemoryCommandAsync(CurrentUser user, ChatMessageRecord message, CancellationToken cancellationToken);
}

/// <summary>The turn's context from memory and files, and its record in working memory.</summary>
public sealed partial class ChatContext(MemoryService memory, FileService files, IConversationStore conversations, ILearningQueue learning, ITitleQueue titles, IOptions<ChatTurnOptions> options,
    IOptions<MemoryOptions> memoryOptions, TimeProvider clock, ILogger<ChatContext> logger) : IChatContext
{
    /// <summary>
    /// The working-memory timeline chat turns are written to. With learning on, a turn's context leaves this timeline out: what the
    /// user said reaches later turns as learned facts, kept current, rather than as a transcript that may be out of date.
    /// </summary>
    internal const string ChatTimeline = "chat";

    /// <summary>Characters of a message searched with: the start of a long message says what it is about.</summary>
    internal const int SearchedCharacters = 1000;

    public async Task<List<Citation>> GatherAsync(CurrentUser user, string content, ChatRequest request, CancellationToken cancellationToken)
    {
        var count = options.Value.ContextItems;
        content = content.Length > SearchedCharacters ? content[..SearchedCharacters] : content;
        var memories = request.UseMemory && count > 0
            ? memory.SearchAsync(user, content, null, null, null, count, default, cancellationToken, exceptTimeline: memoryOptions.Value.Learning ? ChatTimeline : null)
            : Task.FromResult<IReadOnlyList<MemorySearchHit>>([]);
        var passages = request.UseFiles && count > 0
            ? files.SearchAsync(user, content, request.FileIds, count, cancellationToken)
            : Task.FromResult<IReadOnlyList<FileSearchHit>>([]);
        var citations = new List<Citation>();
        citations.AddRange((await passages.ConfigureAwait(false)).Select(Citation.Of));
        citations.AddRange((await memories.ConfigureAwait(false)).Select(Citation.Of));
        return citations;
    }

    /// <summary>Writes the turn to the conversation's working-memory session; memory trouble never fails a turn that is already stored.</summary>
    public async Task RememberTurnAsync(CurrentUser user, Conversation conversation, ChatMessageRecord message, ChatMessageRecord reply, bool learn = true)
    {
        // Learning runs off the request path; asking for it goes out beside the working-memory writes.
        var queued = learn && memoryOptions.Value.Learning ? AskToLearnAsync(user, conversation, message, reply) : Task.CompletedTask;
        try
        {
            // An untitled conversation is titled with the first words of its first message at once, and by the model after the turn.
            var titled = conversation.Title is null ? conversation with { Title = ConversationTitles.FirstWords(message.Content), TitleBy = TitleSource.Message } : conversation;
            var sessionId = conversation.MemorySessionId;
            if (sessionId is null)
            {
                sessionId = (await memory.StartSessionAsync(user, CancellationToken.None).ConfigureAwait(false)).Id;
                var updated = await conversations.TryUpdateAsync(user.UserId, titled with { MemorySessionId = sessionId, UpdatedAt = clock.GetUtcNow() }, CancellationToken.None).ConfigureAwait(false);
                if (updated is null) sessionId = (await conversations.FindAsync(user.UserId, conversation.Id, CancellationToken.None).ConfigureAwait(false))?.MemorySessionId ?? sessionId;
            }
            else
            {
                await conversations.TryUpdateAsync(user.UserId, titled with { UpdatedAt = clock.GetUtcNow() }, CancellationToken.None).ConfigureAwait(false);
            }
            if (conversation.Title is null)
                await titles.EnqueueAsync(new TitleMessage(user.UserId, conversation.Id, message.Content, reply.Degraded ? null : reply.Content), CancellationToken.None).ConfigureAwait(false);
            // Each written with where it was said, so a search across conversations points at the message.
            await memory.PutAsync(user, sessionId, message.Content, ChatTimeline, null, "user", CancellationToken.None, metadata: Where(message)).ConfigureAwait(false);
            if (reply.Content.Length > 0 && !reply.Degraded)
                await memory.PutAsync(user, sessionId, reply.Content, ChatTimeline, null, "assistant", CancellationToken.None, metadata: Where(reply)).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogMemoryWriteFailed(logger, ex, conversation.Id);
        }
        await queued.ConfigureAwait(false);
    }

    /// <summary>Asks for learning from the turn when the user has learning on (as it is now: turning it off later also stops what is queued).</summary>
    private async Task AskToLearnAsync(CurrentUser user, Conversation conversation, ChatMessageRecord message, ChatMessageRecord reply)
    {
        try
        {
            if (!(await memory.GetSettingsAsync(user, CancellationToken.None).ConfigureAwait(false)).Learning) return;
            var replyText = reply.Degraded || reply.Content.Length == 0 ? null : reply.Content[..Math.Min(reply.Content.Length, LearningMessage.MaxReplyCharacters)];
            await learning.EnqueueAsync(new LearningMessage(user.UserId, conversation.Id, message.Id, message.CreatedAt, message.Content, replyText), CancellationToken.None)
                .ConfigureAwait(false); // a failure to send is logged by the queue
        }
        catch (Exception ex)
        {
            LogLearningNotAsked(logger, ex, conversation.Id);
        }
    }

    /// <summary>The metadata of a chat turn's working memory: its conversation and message.</summary>
    internal const string ConversationKey = "conversationId", MessageKey = "messageId";

    private static Dictionary<string, string> Where(ChatMessageRecord message) =>
        new(StringComparer.Ordinal) { [ConversationKey] = message.ConversationId, [MessageKey] = message.Id };

    public async Task<IReadOnlyList<ConversationSearchHit>> SearchConversationsAsync(CurrentUser user, string query, int limit, CancellationToken cancellationToken)
    {
        var hits = await memory.SearchAsync(user, query, ["working"], null, ChatTimeline, limit, default, cancellationToken).ConfigureAwait(false);
        var found = hits.Where(h => h.Memory.Metadata is { } m && m.ContainsKey(ConversationKey) && m.ContainsKey(MessageKey)).ToList();
        var ids = found.Select(h => h.Memory.Metadata![ConversationKey]).Distinct(StringComparer.Ordinal).ToList();
        var titles = (await Task.WhenAll(ids.Select(id => conversations.FindAsync(user.UserId, id, cancellationToken))).ConfigureAwait(false))
            .OfType<Conversation>().ToDictionary(c => c.Id, c => c.Title, StringComparer.Ordinal);
        return found.Where(h => titles.ContainsKey(h.Memory.Metadata![ConversationKey]))
            .Select(h => new ConversationSearchHit(h.Memory.Metadata![ConversationKey], titles[h.Memory.Metadata[ConversationKey]], h.Memory.Metadata[MessageKey],
                h.Memory.Agent == "assistant" ? MessageRole.Assistant : MessageRole.User, h.Memory.Content, h.Score, h.Memory.At))
            .ToList();
    }

    public async Task<string?> RunMemoryCommandAsync(CurrentUser user, ChatMessageRecord message, CancellationToken cancellationToken)
    {
        if (MemoryCommand.Parse(message.Content) is not { } command) return null;
        if (command.Kind == MemoryCommandKind.Remember)
        {
            await memory.RememberFactAsync(user, command.Subject, null, null, null, new MemorySource(message.ConversationId, message.Id, message.CreatedAt), cancellationToken).ConfigureAwait(false);
            return $"{RememberedLead} {command.Subject}";
        }
        var forgotten = await memory.ForgetAsync(user, command.Subject, cancellationToken).ConfigureAwait(false);
        return forgotten.Count == 0
            ? $"I have nothing on \"{command.Subject}\" to forget."
            : $"{ForgottenLead} {string.Join("; ", forgotten.Select(f => f.Content))}. I won't learn it again unless you ask me to remember it.";
    }

    internal const string RememberedLead = "Noted. I will remember:", ForgottenLead = "Forgotten:";

    [LoggerMessage(EventId = 6004, Level = LogLevel.Warning, Message = "Could not ask for learning from a turn of conversation {ConversationId}")]
    private static partial void LogLearningNotAsked(ILogger logger, Exception exception, string conversationId);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "Could not write a turn of conversation {ConversationId} to working memory")]
    private static partial void LogMemoryWriteFailed(ILogger logger, Exception exception, string conversationId);
}
