using SmartApp.Domain.Model;

namespace SmartApp.Domain.Chat;

/// <summary>Conversations and their messages (Cosmos, container <c>conversations</c>, partition <c>/userId</c>).</summary>
public interface IConversationStore
{
    Task CreateAsync(string userId, Conversation conversation, CancellationToken cancellationToken);

    Task<Conversation?> FindAsync(string userId, string conversationId, CancellationToken cancellationToken);

    /// <summary>Replaces the conversation if unchanged since read; null when it changed or is gone.</summary>
    Task<Conversation?> TryUpdateAsync(string userId, Conversation conversation, CancellationToken cancellationToken);

    Task<ConversationPage> ListAsync(string userId, string? cursor, int limit, CancellationToken cancellationToken);

    Task<bool> DeleteAsync(string userId, string conversationId, CancellationToken cancellationToken);

    Task AddMessageAsync(string userId, ChatMessageRecord message, CancellationToken cancellationToken);

    /// <summary>Deletes one message (a reply's draft when the turn failed without a reply); nothing when it does not exist.</summary>
    Task DeleteMessageAsync(string userId, string messageId, CancellationToken cancellationToken);

    /// <summary>One message by id, of any of the user's conversations; null when there is none.</summary>
    Task<ChatMessageRecord?> FindMessageAsync(string userId, string messageId, CancellationToken cancellationToken);

    /// <summary>
    /// Marks a reply still said to be streaming, but not written since <paramref name="staleBefore"/>, as interrupted (its generation
    /// died with its instance). Answers the message as it is after: interrupted, or as written by its generation meanwhile.
    /// </summary>
    Task<ChatMessageRecord?> TryMarkInterruptedAsync(string userId, string messageId, DateTimeOffset staleBefore, CancellationToken cancellationToken);

    /// <summary>A branch's messages (those its <paramref name="path"/> holds: <see cref="Conversation.PathOf"/>) oldest first, a page at a time.</summary>
    Task<MessagePage> ListMessagesAsync(string userId, string conversationId, IReadOnlyList<BranchSegment> path, string? cursor, int limit, CancellationToken cancellationToken);

    /// <summary>A branch's most recent messages, oldest first (for the prompt).</summary>
    Task<IReadOnlyList<ChatMessageRecord>> RecentMessagesAsync(string userId, string conversationId, IReadOnlyList<BranchSegment> path, int count, CancellationToken cancellationToken);
}

public static class ConversationStoreExtensions
{
    /// <summary>
    /// Applies <paramref name="change"/> to the conversation as stored until the write holds: when it changed meanwhile, it is read
    /// again and the change applied to that (so a concurrent change is never overwritten). <paramref name="change"/> answers null when
    /// there is nothing (more) to do, and may throw to refuse. The answer is the conversation as stored, or null when it is gone.
    /// </summary>
    public static async Task<Conversation?> UpdateAsync(this IConversationStore store, string userId, string conversationId, Conversation? known,
        Func<Conversation, Conversation?> change, CancellationToken cancellationToken)
    {
        var conversation = known ?? await store.FindAsync(userId, conversationId, cancellationToken).ConfigureAwait(false);
        while (conversation is not null)
        {
            if (change(conversation) is not { } changed) return conversation;
            if (await store.TryUpdateAsync(userId, changed, cancellationToken).ConfigureAwait(false) is { } stored) return stored;
            conversation = await store.FindAsync(userId, conversationId, cancellationToken).ConfigureAwait(false);
        }
        return null;
    }
}

/// <summary>Replies and tokens per user, day and month (container <c>usage</c>): what quotas read.</summary>
public interface IUsageStore
{
    /// <summary>Counts one reply and its tokens in the UTC day and the UTC month of <paramref name="at"/>.</summary>
    Task AddAsync(string userId, DateTimeOffset at, TokenUsage usage, CancellationToken cancellationToken);

    /// <summary>The totals of the day or month that contains <paramref name="at"/>.</summary>
    Task<UsageTotals> GetAsync(string userId, UsagePeriod period, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Counts file passages granted for indexing in the UTC month of <paramref name="at"/>.</summary>
    Task AddPassagesAsync(string userId, DateTimeOffset at, int count, CancellationToken cancellationToken);

    /// <summary>Counts tool calls in the UTC day of <paramref name="at"/>; the day's count after it.</summary>
    Task<long> AddToolCallsAsync(string userId, DateTimeOffset at, int count, CancellationToken cancellationToken);

    /// <summary>Tool calls in the UTC day of <paramref name="at"/>.</summary>
    Task<long> GetToolCallsAsync(string userId, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>File passages granted for indexing in the UTC month of <paramref name="at"/>.</summary>
    Task<long> GetPassagesAsync(string userId, DateTimeOffset at, CancellationToken cancellationToken);
}

/// <summary>
/// Snapshots behind share links (Cosmos, container <c>shares</c>, partition <c>/id</c>: read by the link alone, without
/// knowing whose it is). Each names its owner, so deleting an account deletes them.
/// </summary>
public interface ISharedConversationStore
{
    Task CreateAsync(string userId, string conversationId, SharedConversation snapshot, CancellationToken cancellationToken);

    Task<SharedConversation?> FindAsync(string shareId, CancellationToken cancellationToken);

    /// <summary>Deletes a snapshot; nothing when it does not exist.</summary>
    Task DeleteAsync(string shareId, CancellationToken cancellationToken);
}
