using System.Net;
using Microsoft.Azure.Cosmos;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Identity.Adapters.Cosmos;

/// <summary>User records in container <c>users</c>: one item per user, id = userId = partition key.</summary>
public sealed class CosmosUserRepository(CosmosStore store, TimeProvider clock) : IUserRepository
{
    public const string DefaultPlan = "free";
    private const int MaxConflictRetries = 5;

    public async Task<User?> FindAsync(string userId, CancellationToken cancellationToken)
    {
        var document = await ReadAsync(userId, cancellationToken).ConfigureAwait(false);
        return document?.Resource.ToUser();
    }

    public async Task<User> UpsertFromSignInAsync(UserSignIn signIn, CancellationToken cancellationToken)
    {
        var container = await store.GetContainerAsync(CosmosContainers.Users, cancellationToken).ConfigureAwait(false);
        var partition = new PartitionKey(signIn.UserId);
        // Optimistic concurrency: two first sign-ins at once create one user; concurrent updates never lose one another.
        for (var attempt = 0; ; attempt++)
        {
            var now = clock.GetUtcNow();
            var existing = await ReadAsync(signIn.UserId, cancellationToken).ConfigureAwait(false);
            try
            {
                if (existing is null)
                {
                    var created = new UserDocument(signIn.UserId, signIn.UserId, signIn.Email, signIn.Name, DefaultPlan, signIn.Provider, now, now) { LastSignInAt = now };
                    var response = await container.CreateItemAsync(created, partition, cancellationToken: cancellationToken).ConfigureAwait(false);
                    return response.Resource.ToUser();
                }
                var current = existing.Resource;
                var updated = current with { Email = signIn.Email, Name = signIn.Name, Provider = signIn.Provider, UpdatedAt = now, LastSignInAt = now };
                var replaced = await container.ReplaceItemAsync(updated, updated.Id, partition,
                    new ItemRequestOptions { IfMatchEtag = existing.ETag }, cancellationToken).ConfigureAwait(false);
                return replaced.Resource.ToUser();
            }
            catch (CosmosException ex) when (ex.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.PreconditionFailed && attempt < MaxConflictRetries)
            {
                // Someone else wrote the user between our read and write: read again and re-apply.
            }
        }
    }

    public async Task DeleteAsync(string userId, CancellationToken cancellationToken)
    {
        var container = await store.GetContainerAsync(CosmosContainers.Users, cancellationToken).ConfigureAwait(false);
        try
        {
            await container.DeleteItemAsync<UserDocument>(userId, new PartitionKey(userId), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            // Already deleted.
        }
    }

    public async Task<bool> UpdateProfileAsync(string userId, string email, string? name, CancellationToken cancellationToken)
    {
        var container = await store.GetContainerAsync(CosmosContainers.Users, cancellationToken).ConfigureAwait(false);
        try
        {
            await container.PatchItemAsync<UserDocument>(userId, new PartitionKey(userId),
                [PatchOperation.Set("/email", email), PatchOperation.Set("/name", name), PatchOperation.Set("/updatedAt", clock.GetUtcNow())],
                new PatchItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return false; // never signed in here, or deleted
        }
    }

    public async Task SetPlanAsync(string userId, string plan, CancellationToken cancellationToken)
    {
        var container = await store.GetContainerAsync(CosmosContainers.Users, cancellationToken).ConfigureAwait(false);
        try
        {
            await container.PatchItemAsync<UserDocument>(userId, new PartitionKey(userId),
                [PatchOperation.Set("/plan", plan), PatchOperation.Set("/updatedAt", clock.GetUtcNow())],
                new PatchItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken).ConfigureAwait(false);
        }
        catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            // The account was deleted; billing has nothing to update.
        }
    }

    private async Task<ItemResponse<UserDocument>?> ReadAsync(string userId, CancellationToken cancellationToken)
    {
        var container = await store.GetContainerAsync(CosmosContainers.Users, cancellationToken).ConfigureAwait(false);
        try
        {
            return await container.ReadItemAsync<UserDocument>(userId, new PartitionKey(userId), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>The stored shape (camelCase JSON; <c>id</c> and <c>userId</c> are both the user id).</summary>
    internal sealed record UserDocument(
        string Id, string UserId, string Email, string? Name, string Plan, string Provider,
        DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
    {
        public DateTimeOffset? LastSignInAt { get; init; }

        public User ToUser() => new(Id, Email, Name, Plan, Provider, CreatedAt, UpdatedAt) { LastSignInAt = LastSignInAt };
    }
}
