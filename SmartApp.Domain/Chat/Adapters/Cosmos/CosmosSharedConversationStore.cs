using Microsoft.Azure.Cosmos;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Chat.Adapters.Cosmos;

/// <summary>Share links' snapshots in container <c>shares</c>, partition <c>/id</c> (the link's id); each names its owner (<c>userId</c>).</summary>
public sealed class CosmosSharedConversationStore(CosmosStore store) : ISharedConversationStore
{
    public async Task CreateAsync(string userId, string conversationId, SharedConversation snapshot, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        await container.CreateItemAsync(new SharedDocument(snapshot.Id, userId, conversationId, snapshot.Title, [.. snapshot.Messages], snapshot.SharedAt), new PartitionKey(snapshot.Id),
            new ItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<SharedConversation?> FindAsync(string shareId, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var response = await container.ReadOrNullAsync<SharedDocument>(shareId, shareId, cancellationToken).ConfigureAwait(false);
        return response?.Resource is { } d ? new SharedConversation(d.Id, d.Title, d.Messages ?? [], d.SharedAt) : null;
    }

    public async Task DeleteAsync(string shareId, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        await container.DeleteItemsAsync(shareId, [shareId], cancellationToken).ConfigureAwait(false);
    }

    private ValueTask<Container> ContainerAsync(CancellationToken cancellationToken) => store.GetContainerAsync(CosmosContainers.Shares, cancellationToken);

    private sealed record SharedDocument(string Id, string UserId, string ConversationId, string? Title, List<SharedMessage>? Messages, DateTimeOffset SharedAt);
}
