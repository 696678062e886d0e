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

    /// <summary>Messages oldest first, a page at a time.</summary>
    Task<MessagePage> ListMessagesAsync(string userId, string conversationId, string? cursor, int limit, CancellationToken cancellationToken);

    /// <summary>The most recent messages, oldest first (for the prompt).</summary>
    Task<IReadOnlyList<ChatMessageRecord>> RecentMessagesAsync(string userId, string conversationId, int count, CancellationToken cancellationToken);
}

/// <summary>Token counts per user and day (container <c>usage</c>): what quotas will read.</summary>
public interface IUsageStore
{
    Task AddAsync(string userId, DateOnly day, TokenUsage usage, CancellationToken cancellationToken);

    Task<DailyUsage> GetAsync(string userId, DateOnly day, CancellationToken cancellationToken);
}
