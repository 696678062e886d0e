using System.Net;
using System.Text.Json;
using Azure;
using Microsoft.Azure.Cosmos;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Identity.Adapters.Storage;

/// <summary>
/// A user's data across Cosmos and Blob Storage: every user-partitioned container (one partition per
/// user, so a query never leaves that user's data) and every blob under <c>users/{userId}/</c>.
/// A capability that stores its records in those places joins export and deletion by doing so. Data still in a legacy
/// container is moved first (<see cref="StoredDataMigration"/>), so both see all of it.
/// </summary>
public sealed class StorageAccountDataStore(CosmosStore cosmos, BlobStore blobs, StoredDataMigration migration) : IAccountDataStore
{
    public async Task ExportAsync(string userId, Utf8JsonWriter writer, CancellationToken cancellationToken)
    {
        await MoveLegacyDataAsync(userId, cancellationToken).ConfigureAwait(false);
        foreach (var spec in CosmosContainers.UserOwned)
        {
            var container = await cosmos.GetContainerAsync(spec, cancellationToken).ConfigureAwait(false);
            writer.WriteStartArray(spec.Label);
            using var query = container.GetItemQueryIterator<JsonElement>("SELECT * FROM c",
                requestOptions: new QueryRequestOptions { PartitionKey = spec.OwnerKey(userId), MaxItemCount = 100 });
            while (query.HasMoreResults)
            {
                foreach (var item in await query.ReadNextAsync(cancellationToken).ConfigureAwait(false))
                {
                    writer.WriteStartObject();
                    foreach (var property in item.EnumerateObject())
                        if (!property.Name.StartsWith('_')) property.WriteTo(writer); // not Cosmos' system properties
                    writer.WriteEndObject();
                }
                await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            writer.WriteEndArray();
        }

        await blobs.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        writer.WriteStartArray("blobs");
        await foreach (var blob in blobs.Files.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, Prefix(userId), cancellationToken).ConfigureAwait(false))
        {
            writer.WriteStartObject();
            writer.WriteString("name", blob.Name);
            writer.WriteNumber("size", blob.Properties.ContentLength ?? 0);
            writer.WriteString("contentType", blob.Properties.ContentType);
            if (blob.Properties.LastModified is { } modified) writer.WriteString("lastModified", modified);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyDictionary<string, int>> DeleteAllAsync(string userId, CancellationToken cancellationToken)
    {
        await MoveLegacyDataAsync(userId, cancellationToken).ConfigureAwait(false);
        var deleted = new Dictionary<string, int>();
        foreach (var spec in CosmosContainers.UserOwned)
        {
            var container = await cosmos.GetContainerAsync(spec, cancellationToken).ConfigureAwait(false);
            // The id and, under a hierarchical key, the second level's value, which the item's full key needs.
            var second = spec.SubPartitionKeyPath?.TrimStart('/');
            var ids = new List<(string Id, string? Second)>();
            using (var query = container.GetItemQueryIterator<JsonElement>(second is null ? "SELECT c.id FROM c" : $"SELECT c.id, c.{second} FROM c",
                       requestOptions: new QueryRequestOptions { PartitionKey = spec.OwnerKey(userId) }))
                while (query.HasMoreResults)
                    ids.AddRange((await query.ReadNextAsync(cancellationToken).ConfigureAwait(false))
                        .Select(i => (i.GetProperty("id").GetString()!, second is not null && i.TryGetProperty(second, out var v) ? v.GetString() : null)));
            foreach (var (id, secondValue) in ids)
            {
                try
                {
                    await container.DeleteItemAsync<object>(id, spec.ItemKey(userId, secondValue), cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
                {
                    // Already gone (a retry of an interrupted deletion).
                }
            }
            deleted[spec.Label] = ids.Count;
        }

        foreach (var spec in CosmosContainers.OwnerNamed)
        {
            var container = await cosmos.GetContainerAsync(spec, cancellationToken).ConfigureAwait(false);
            var ids = await container.QueryAcrossPartitionsAsync<string>(
                new QueryDefinition("SELECT VALUE c.id FROM c WHERE c.userId = @user").WithParameter("@user", userId), cancellationToken).ConfigureAwait(false);
            await container.DeleteItemsAsync(ids.Select(id => (id, new PartitionKey(id))), cancellationToken).ConfigureAwait(false);
            deleted[spec.Label] = ids.Count;
        }

        await blobs.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var blobCount = 0;
        await foreach (var blob in blobs.Files.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, Prefix(userId), cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await blobs.Files.DeleteBlobIfExistsAsync(blob.Name, Azure.Storage.Blobs.Models.DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken).ConfigureAwait(false);
                blobCount++;
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
            }
        }
        // The user's uploads container goes whole: every upload URL it gave stops working (404), not only its blobs.
        var uploads = blobs.UploadsFor(userId);
        try
        {
            await foreach (var _ in uploads.GetBlobsAsync(cancellationToken: cancellationToken).ConfigureAwait(false)) blobCount++;
            await uploads.DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No upload was ever begun, or a retry of an interrupted deletion.
        }
        deleted["blobs"] = blobCount;
        return deleted;
    }

    private async Task MoveLegacyDataAsync(string userId, CancellationToken cancellationToken)
    {
        foreach (var (_, current) in CosmosContainers.Moves)
            await migration.EnsureMovedAsync(current, userId, cancellationToken).ConfigureAwait(false);
    }

    private static string Prefix(string userId) => BlobStore.UserPrefix(userId);
}
