using System.Net;
using Microsoft.Azure.Cosmos;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Identity.Adapters.Cosmos;

/// <summary>Account deletions in container <c>account-deletions</c> (partition /id, kept 30 days).</summary>
public sealed class CosmosAccountDeletionStore(CosmosStore store) : IAccountDeletionStore
{
    public async Task SaveAsync(AccountDeletion deletion, CancellationToken cancellationToken)
    {
        var container = await store.GetContainerAsync(CosmosContainers.AccountDeletions, cancellationToken).ConfigureAwait(false);
        await container.UpsertItemAsync(deletion, new PartitionKey(deletion.Id), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    public async Task<AccountDeletion?> FindAsync(string deletionId, CancellationToken cancellationToken)
    {
        var container = await store.GetContainerAsync(CosmosContainers.AccountDeletions, cancellationToken).ConfigureAwait(false);
        return (await container.ReadOrNullAsync<AccountDeletion>(deletionId, deletionId, cancellationToken).ConfigureAwait(false))?.Resource;
    }

    public async Task<IReadOnlyList<AccountDeletion>> UnfinishedAsync(CancellationToken cancellationToken)
    {
        var container = await store.GetContainerAsync(CosmosContainers.AccountDeletions, cancellationToken).ConfigureAwait(false);
        var query = new QueryDefinition("SELECT * FROM c WHERE c.status = @pending OR c.status = @running")
            .WithParameter("@pending", "pending").WithParameter("@running", "running");
        var unfinished = new List<AccountDeletion>();
        using var iterator = container.GetItemQueryIterator<AccountDeletion>(query);
        while (iterator.HasMoreResults)
            unfinished.AddRange(await iterator.ReadNextAsync(cancellationToken).ConfigureAwait(false));
        return unfinished;
    }
}
