using System.Text;
using Microsoft.Extensions.Logging;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Identity;

namespace SmartApp.Domain.Chat;

/// <summary>
/// Share links: a read-only snapshot of one branch of a conversation as it is when shared (later messages never reach it),
/// behind an unguessable id, readable without signing in, revocable. A snapshot holds the title and the messages' text and
/// times only: no ids, sources, tool calls, usage or anything else of the user. Deleting the conversation or the account
/// revokes its links.
/// </summary>
public sealed partial class ConversationSharing(IConversationStore conversations, ISharedConversationStore shared, TimeProvider clock, ILogger<ConversationSharing> logger)
{
    /// <summary>Links a conversation may have at once.</summary>
    public const int MaxSharesPerConversation = 20;

    /// <summary>A snapshot is one stored item: its messages' text is bounded well under Cosmos DB's 2 MB an item.</summary>
    public const int MaxSharedMessages = 1000, MaxSharedBytes = 1_500_000;

    private const string SharePrefix = "shr";

    /// <summary>Shares one branch (<paramref name="branch"/>, or the current one) of the conversation as it is now.</summary>
    public async Task<ConversationShare> ShareAsync(CurrentUser user, string conversationId, string? branch, CancellationToken cancellationToken)
    {
        var conversation = await RequireAsync(user, conversationId, cancellationToken).ConfigureAwait(false);
        var read = ChatService.BranchOf(conversation, branch);
        var messages = await SnapshotAsync(user, conversation, read, cancellationToken).ConfigureAwait(false);
        var now = clock.GetUtcNow();
        var share = new ConversationShare(Ids.NewSecret(SharePrefix), read, messages.Count, now);

        // Listed on the conversation first: no link is ever out there that its owner cannot see and revoke.
        conversation = await conversations.UpdateAsync(user.UserId, conversationId, conversation, c => c.Shares.Count < MaxSharesPerConversation
                ? c with { Shares = [.. c.Shares, share] }
                : throw new ConflictException($"This conversation has {MaxSharesPerConversation} share links, the most it may have; revoke one first."), cancellationToken)
            .ConfigureAwait(false) ?? throw new NotFoundException("No such conversation.");
        try
        {
            await shared.CreateAsync(user.UserId, conversationId, new SharedConversation(share.Id, conversation.Title, messages, now), CancellationToken.None).ConfigureAwait(false);
        }
        catch
        {
            await UnlistAsync(user, conversationId, share.Id).ConfigureAwait(false);
            throw;
        }
        // A conversation deleted meanwhile took its links with it, before this one existed: this one goes too.
        if (await conversations.FindAsync(user.UserId, conversationId, CancellationToken.None).ConfigureAwait(false) is not { } still || still.Shares.All(s => s.Id != share.Id))
        {
            await shared.DeleteAsync(share.Id, CancellationToken.None).ConfigureAwait(false);
            throw new NotFoundException("No such conversation.");
        }
        return share;
    }

    /// <summary>The conversation's links that have not been revoked, oldest first.</summary>
    public async Task<IReadOnlyList<ConversationShare>> ListAsync(CurrentUser user, string conversationId, CancellationToken cancellationToken) =>
        (await RequireAsync(user, conversationId, cancellationToken).ConfigureAwait(false)).Shares;

    /// <summary>Revokes a link: from then on it is 404.</summary>
    public async Task RevokeAsync(CurrentUser user, string conversationId, string shareId, CancellationToken cancellationToken)
    {
        var conversation = await RequireAsync(user, conversationId, cancellationToken).ConfigureAwait(false);
        if (conversation.Shares.All(s => s.Id != shareId)) throw new NotFoundException("No such share link of this conversation.");
        await shared.DeleteAsync(shareId, cancellationToken).ConfigureAwait(false); // the link stops working first
        await UnlistAsync(user, conversationId, shareId).ConfigureAwait(false);
    }

    /// <summary>What a link shows, to anyone who has it.</summary>
    public async Task<SharedConversation> OpenAsync(string shareId, CancellationToken cancellationToken) =>
        (Ids.IsWellFormed(shareId, SharePrefix) ? await shared.FindAsync(shareId, cancellationToken).ConfigureAwait(false) : null)
        ?? throw new NotFoundException("No such shared conversation: the link is wrong, or it was revoked.");

    /// <summary>The branch's finished messages' text (a reply still being written is left out), within the snapshot's bounds.</summary>
    private async Task<List<SharedMessage>> SnapshotAsync(CurrentUser user, Conversation conversation, string branch, CancellationToken cancellationToken)
    {
        var messages = new List<SharedMessage>();
        var bytes = 0;
        string? cursor = null;
        do
        {
            var page = await conversations.ListMessagesAsync(user.UserId, conversation.Id, conversation.PathOf(branch), cursor, ChatService.MaxPageSize, cancellationToken).ConfigureAwait(false);
            foreach (var message in page.Messages.Where(m => m.Streaming != true && m.Content.Length > 0))
            {
                messages.Add(new SharedMessage(message.Role, message.Content, message.CreatedAt));
                bytes += Encoding.UTF8.GetByteCount(message.Content);
            }
            if (messages.Count > MaxSharedMessages || bytes > MaxSharedBytes)
                throw new ConflictException($"This conversation is too long to share (a link holds at most {MaxSharedMessages} messages and {MaxSharedBytes / 1_000_000.0:0.#} MB of text).");
            cursor = page.Cursor;
        }
        while (cursor is not null);
        return messages.Count > 0 ? messages : throw new ConflictException("This conversation has no messages to share yet.");
    }

    /// <summary>Takes a link off the conversation's list (its snapshot is gone or was never written).</summary>
    private async Task UnlistAsync(CurrentUser user, string conversationId, string shareId)
    {
        try
        {
            await conversations.UpdateAsync(user.UserId, conversationId, null,
                c => c.Shares.Any(s => s.Id == shareId) ? c with { Shares = [.. c.Shares.Where(s => s.Id != shareId)] } : null, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogNotUnlisted(logger, ex, conversationId); // listed without a snapshot: the link answers 404, and revoking it again works
        }
    }

    private Task<Conversation> RequireAsync(CurrentUser user, string conversationId, CancellationToken cancellationToken) =>
        ChatService.RequireConversationAsync(conversations, user, conversationId, cancellationToken);

    [LoggerMessage(EventId = 6013, Level = LogLevel.Warning, Message = "A share link of conversation {ConversationId} could not be taken off its list")]
    private static partial void LogNotUnlisted(ILogger logger, Exception exception, string conversationId);
}
