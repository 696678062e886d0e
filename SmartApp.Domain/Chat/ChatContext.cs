using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common;
using SmartApp.Domain.Files;
using SmartApp.Domain.Identity;
using SmartApp.Domain.Memory;

namespace SmartApp.Domain.Chat;

/// <summary>What a turn knows of the user (their memories and files) and what it leaves in their memory.</summary>
public interface IChatContext
{
    /// <summary>The user's best file passages and memories for the message, as citations (files first).</summary>
    Task<List<Citation>> GatherAsync(CurrentUser user, string content, ChatRequest request, CancellationToken cancellationToken);

    /// <summary>Writes a stored turn to the conversation's working-memory session; never fails the turn.</summary>
    Task RememberTurnAsync(CurrentUser user, Conversation conversation, ChatMessageRecord message, ChatMessageRecord reply);
}

/// <summary>The turn's context from memory and files, and its record in working memory.</summary>
public sealed partial class ChatContext(MemoryService memory, FileService files, IConversationStore conversations, IOptions<ChatTurnOptions> options,
    TimeProvider clock, ILogger<ChatContext> logger) : IChatContext
{
    /// <summary>Characters of a message searched with: the start of a long message says what it is about.</summary>
    internal const int SearchedCharacters = 1000;

    public async Task<List<Citation>> GatherAsync(CurrentUser user, string content, ChatRequest request, CancellationToken cancellationToken)
    {
        var count = options.Value.ContextItems;
        content = content.Length > SearchedCharacters ? content[..SearchedCharacters] : content;
        var memories = request.UseMemory && count > 0
            ? memory.SearchAsync(user, content, null, null, null, count, default, cancellationToken)
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
    public async Task RememberTurnAsync(CurrentUser user, Conversation conversation, ChatMessageRecord message, ChatMessageRecord reply)
    {
        try
        {
            var sessionId = conversation.MemorySessionId;
            if (sessionId is null)
            {
                sessionId = (await memory.StartSessionAsync(user, CancellationToken.None).ConfigureAwait(false)).Id;
                var updated = await conversations.TryUpdateAsync(user.UserId, conversation with { MemorySessionId = sessionId, UpdatedAt = clock.GetUtcNow() }, CancellationToken.None).ConfigureAwait(false);
                if (updated is null) sessionId = (await conversations.FindAsync(user.UserId, conversation.Id, CancellationToken.None).ConfigureAwait(false))?.MemorySessionId ?? sessionId;
            }
            else
            {
                await conversations.TryUpdateAsync(user.UserId, conversation with { UpdatedAt = clock.GetUtcNow() }, CancellationToken.None).ConfigureAwait(false);
            }
            await memory.PutAsync(user, sessionId, message.Content, "chat", null, "user", CancellationToken.None).ConfigureAwait(false);
            if (reply.Content.Length > 0 && !reply.Degraded)
                await memory.PutAsync(user, sessionId, reply.Content, "chat", null, "assistant", CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogMemoryWriteFailed(logger, ex, conversation.Id);
        }
    }

    [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "Could not write a turn of conversation {ConversationId} to working memory")]
    private static partial void LogMemoryWriteFailed(ILogger logger, Exception exception, string conversationId);
}
