using System.Net;
using Microsoft.Azure.Cosmos;
using SmartApp.Domain.Common.Storage;
using SmartApp.Domain.Model;

namespace SmartApp.Domain.Chat.Adapters.Cosmos;

/// <summary>
/// Conversations (<c>type: conversation</c>) and messages (<c>type: message</c>) in container
/// <c>conversations</c>, partition <c>/userId</c>. Deleting a conversation deletes its record, then its messages.
/// </summary>
public sealed class CosmosConversationStore(CosmosStore store) : IConversationStore
{
    private static readonly ItemRequestOptions NoContent = new() { EnableContentResponseOnWrite = false };

    public async Task CreateAsync(string userId, Conversation conversation, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        await container.CreateItemAsync(ConversationDocument.From(userId, conversation), new PartitionKey(userId), NoContent, cancellationToken).ConfigureAwait(false);
    }

    public async Task<Conversation?> FindAsync(string userId, string conversationId, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var response = await container.ReadOrNullAsync<ConversationDocument>(conversationId, userId, cancellationToken).ConfigureAwait(false);
        return response?.Resource.Type == ConversationDocument.ConversationType ? response.Resource.ToConversation(response.ETag) : null;
    }

    public async Task<Conversation?> TryUpdateAsync(string userId, Conversation conversation, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var response = await container.ReplaceItemAsync(ConversationDocument.From(userId, conversation), conversation.Id, new PartitionKey(userId),
                new ItemRequestOptions { IfMatchEtag = conversation.ETag, EnableContentResponseOnWrite = false }, cancellationToken).ConfigureAwait(false);
            return conversation with { ETag = response.ETag };
        }
        catch (CosmosException ex) when (ex.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<ConversationPage> ListAsync(string userId, string? cursor, int limit, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var (items, next) = await container.QueryPageAsync<ConversationDocument>(userId,
            new QueryDefinition("SELECT * FROM c WHERE c.type = 'conversation' ORDER BY c.updatedAt DESC"), cursor, limit, cancellationToken).ConfigureAwait(false);
        return new ConversationPage(items.Select(d => d.ToConversation(null)).ToList(), next);
    }

    public async Task<bool> DeleteAsync(string userId, string conversationId, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var partition = new PartitionKey(userId);
        try
        {
            await container.DeleteItemAsync<object>(conversationId, partition, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
        var ids = await container.QueryPartitionAsync<string>(userId,
            new QueryDefinition("SELECT VALUE c.id FROM c WHERE c.type = 'message' AND c.conversationId = @conversation").WithParameter("@conversation", conversationId),
            cancellationToken).ConfigureAwait(false);
        await container.DeleteItemsAsync(userId, ids, cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task AddMessageAsync(string userId, ChatMessageRecord message, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        await container.UpsertItemAsync(MessageDocument.From(userId, message), new PartitionKey(userId), NoContent, cancellationToken).ConfigureAwait(false);
    }

    public async Task DeleteMessageAsync(string userId, string messageId, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        await container.DeleteItemsAsync(userId, [messageId], cancellationToken).ConfigureAwait(false);
    }

    public async Task<ChatMessageRecord?> FindMessageAsync(string userId, string messageId, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var response = await container.ReadOrNullAsync<MessageDocument>(messageId, userId, cancellationToken).ConfigureAwait(false);
        return response?.Resource.Type == MessageDocument.MessageType ? response.Resource.ToMessage() : null;
    }

    public async Task<ChatMessageRecord?> TryMarkInterruptedAsync(string userId, string messageId, DateTimeOffset staleBefore, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var response = await container.ReadOrNullAsync<MessageDocument>(messageId, userId, cancellationToken).ConfigureAwait(false);
        if (response?.Resource is not { Type: MessageDocument.MessageType } document) return null;
        var message = document.ToMessage();
        if (message.Streaming != true || (message.UpdatedAt ?? message.CreatedAt) >= staleBefore) return message;
        var interrupted = message.AsInterrupted();
        try
        {
            await container.ReplaceItemAsync(MessageDocument.From(userId, interrupted), messageId, new PartitionKey(userId),
                new ItemRequestOptions { IfMatchEtag = response.ETag, EnableContentResponseOnWrite = false }, cancellationToken).ConfigureAwait(false);
            return interrupted;
        }
        catch (CosmosException ex) when (ex.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound)
        {
            return await FindMessageAsync(userId, messageId, cancellationToken).ConfigureAwait(false); // written meanwhile: it is alive after all
        }
    }

    public async Task<MessagePage> ListMessagesAsync(string userId, string conversationId, IReadOnlyList<BranchSegment> path, string? cursor, int limit, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var (items, next) = await container.QueryPageAsync<MessageDocument>(userId, MessagesOf(conversationId, path, "ASC", null), cursor, limit, cancellationToken).ConfigureAwait(false);
        return new MessagePage(items.Select(d => d.ToMessage()).ToList(), next);
    }

    public async Task<IReadOnlyList<ChatMessageRecord>> RecentMessagesAsync(string userId, string conversationId, IReadOnlyList<BranchSegment> path, int count, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var newestFirst = await container.QueryPartitionAsync<MessageDocument>(userId, MessagesOf(conversationId, path, "DESC", count), cancellationToken).ConfigureAwait(false);
        return newestFirst.AsEnumerable().Reverse().Select(d => d.ToMessage()).ToList();
    }

    /// <summary>A branch's messages in order: each stretch of its path is one branch's messages (the main branch's name none) up to a sequence.</summary>
    private static QueryDefinition MessagesOf(string conversationId, IReadOnlyList<BranchSegment> path, string order, int? count)
    {
        var stretches = new List<string>();
        for (var i = 0; i < path.Count; i++)
        {
            var branch = path[i].Branch is null ? "(NOT IS_DEFINED(c.branch) OR IS_NULL(c.branch))" : $"c.branch = @branch{i}";
            stretches.Add(path[i].UpTo is null ? branch : $"({branch} AND c.sequence <= @upTo{i})");
        }
        var query = new QueryDefinition(
            $"SELECT * FROM c WHERE c.type = 'message' AND c.conversationId = @conversation AND ({string.Join(" OR ", stretches)}) ORDER BY c.sequence {order}" +
            (count is null ? "" : " OFFSET 0 LIMIT @count")).WithParameter("@conversation", conversationId);
        for (var i = 0; i < path.Count; i++)
        {
            if (path[i].Branch is { } branch) query = query.WithParameter($"@branch{i}", branch);
            if (path[i].UpTo is { } upTo) query = query.WithParameter($"@upTo{i}", upTo);
        }
        return count is { } n ? query.WithParameter("@count", n) : query;
    }

    private ValueTask<Container> ContainerAsync(CancellationToken cancellationToken) => store.GetContainerAsync(CosmosContainers.Conversations, cancellationToken);
}

internal sealed record ConversationDocument(string Id, string UserId, string Type)
{
    public const string ConversationType = "conversation";

    public string? Title { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public string? MemorySessionId { get; init; }
    public TitleSource? TitleBy { get; init; }
    public List<ConversationBranch>? Branches { get; init; }
    public string? CurrentBranch { get; init; }
    public List<ConversationShare>? Shares { get; init; }

    public static ConversationDocument From(string userId, Conversation c) => new(c.Id, userId, ConversationType)
    {
        Title = c.Title, CreatedAt = c.CreatedAt, UpdatedAt = c.UpdatedAt, MemorySessionId = c.MemorySessionId, TitleBy = c.TitleBy,
        Branches = c.Branches.Count == 0 ? null : [.. c.Branches], CurrentBranch = c.CurrentBranch, Shares = c.Shares.Count == 0 ? null : [.. c.Shares],
    };

    public Conversation ToConversation(string? etag) => new(Id, Title, CreatedAt, UpdatedAt)
    {
        MemorySessionId = MemorySessionId, ETag = etag, TitleBy = TitleBy, Branches = Branches ?? [], CurrentBranch = CurrentBranch, Shares = Shares ?? [],
    };
}

/// <summary>A message; <c>sequence</c> (<see cref="ChatMessageRecord.Sequence"/>) orders a conversation, and bounds a branch's stretches.</summary>
internal sealed record MessageDocument(string Id, string UserId, string Type)
{
    public const string MessageType = "message";

    public string? ConversationId { get; init; }
    public MessageRole Role { get; init; }
    public string? Content { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public long Sequence { get; init; }
    public List<Citation>? Citations { get; init; }
    public TokenUsage? Usage { get; init; }
    public MessageCost? Cost { get; init; }
    public bool Degraded { get; init; }
    public bool Incomplete { get; init; }
    public List<ToolActivity>? ToolCalls { get; init; }
    public bool? ToolLimitReached { get; init; }
    public string? ReplyTo { get; init; }
    public bool? Streaming { get; init; }
    public DateTimeOffset? UpdatedAt { get; init; }
    public bool? Interrupted { get; init; }
    public string? Branch { get; init; }

    public static MessageDocument From(string userId, ChatMessageRecord m) => new(m.Id, userId, MessageType)
    {
        ConversationId = m.ConversationId, Role = m.Role, Content = m.Content, CreatedAt = m.CreatedAt,
        Sequence = m.Sequence, Branch = m.Branch,
        Citations = [.. m.Citations], Usage = m.Usage, Cost = m.Cost, Degraded = m.Degraded, Incomplete = m.Incomplete,
        ToolCalls = m.ToolCalls is null ? null : [.. m.ToolCalls], ToolLimitReached = m.ToolLimitReached,
        ReplyTo = m.ReplyTo, Streaming = m.Streaming, UpdatedAt = m.UpdatedAt, Interrupted = m.Interrupted,
    };

    public ChatMessageRecord ToMessage() => new(Id, ConversationId ?? "", Role, Content ?? "", CreatedAt)
    {
        Citations = Citations ?? [], Usage = Usage, Cost = Cost, Degraded = Degraded, Incomplete = Incomplete, ToolCalls = ToolCalls, ToolLimitReached = ToolLimitReached,
        ReplyTo = ReplyTo, Streaming = Streaming, UpdatedAt = UpdatedAt, Interrupted = Interrupted, Branch = Branch,
    };
}
