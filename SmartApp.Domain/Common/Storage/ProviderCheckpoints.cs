using Microsoft.Azure.Cosmos;

namespace SmartApp.Domain.Common.Storage;

/// <summary>Where a job that reads a provider's event list (Stripe's events, WorkOS's events) got to: an opaque position per reader.</summary>
public interface IProviderCheckpoints
{
    Task<string?> GetAsync(string reader, CancellationToken cancellationToken);

    Task SaveAsync(string reader, string position, CancellationToken cancellationToken);
}

/// <summary>Checkpoints on Cosmos: one small item per reader in container <c>webhook-events</c> (partition <c>/id</c>), beside the record of the events applied.</summary>
public sealed class ProviderCheckpoints(CosmosStore store) : IProviderCheckpoints
{
    public async Task<string?> GetAsync(string reader, CancellationToken cancellationToken)
    {
        var container = await store.GetContainerAsync(CosmosContainers.WebhookEvents, cancellationToken).ConfigureAwait(false);
        var id = Id(reader);
        return (await container.ReadOrNullAsync<Checkpoint>(id, id, cancellationToken).ConfigureAwait(false))?.Resource.Position;
    }

    public async Task SaveAsync(string reader, string position, CancellationToken cancellationToken)
    {
        var container = await store.GetContainerAsync(CosmosContainers.WebhookEvents, cancellationToken).ConfigureAwait(false);
        await container.UpsertItemAsync(new Checkpoint(Id(reader), position), new PartitionKey(Id(reader)),
            new ItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken).ConfigureAwait(false);
    }

    private static string Id(string reader) => "checkpoint:" + reader;

    private sealed record Checkpoint(string Id, string Position);
}
