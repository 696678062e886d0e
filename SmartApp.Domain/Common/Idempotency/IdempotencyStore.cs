using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Azure.Cosmos;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Common.Idempotency;

/// <summary>A response kept for an Idempotency-Key, replayed to a repeat of the same request.</summary>
public sealed record StoredResponse(int Status, string? ContentType, string? Location, string? ETag, string Body);

/// <summary>What a request with an Idempotency-Key should do.</summary>
public abstract record IdempotencyOutcome
{
    /// <summary>First time: run it, then <see cref="IdempotencyStore.CompleteAsync"/> or <see cref="IdempotencyStore.ForgetAsync"/>.</summary>
    public sealed record Run(string ETag) : IdempotencyOutcome;

    /// <summary>Done before: answer what was answered then.</summary>
    public sealed record Replay(StoredResponse Response) : IdempotencyOutcome;

    /// <summary>The key was used for a different request.</summary>
    public sealed record Mismatch : IdempotencyOutcome;

    /// <summary>The same request is being processed now.</summary>
    public sealed record InProgress : IdempotencyOutcome;
}

/// <summary>
/// Idempotency keys in container <c>idempotency</c> (partition <c>/userId</c>, kept a day): per user
/// and key, a fingerprint of the request and, once it is done, the response. A key whose request
/// never finished (the instance died) is taken over after <see cref="AbandonedAfter"/>.
/// </summary>
public sealed class IdempotencyStore(CosmosStore store, TimeProvider clock)
{
    public static readonly TimeSpan AbandonedAfter = TimeSpan.FromMinutes(2);

    public async Task<IdempotencyOutcome> BeginAsync(string userId, string key, string fingerprint, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var id = IdOf(key);
        var started = new KeyDocument(id, userId, fingerprint, Started, clock.GetUtcNow(), null);
        try
        {
            var created = await container.CreateItemAsync(started, new PartitionKey(userId), cancellationToken: cancellationToken).ConfigureAwait(false);
            return new IdempotencyOutcome.Run(created.ETag);
        }
        catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
        {
            var existing = await container.ReadOrNullAsync<KeyDocument>(id, userId, cancellationToken).ConfigureAwait(false);
            if (existing is null) return await BeginAsync(userId, key, fingerprint, cancellationToken).ConfigureAwait(false); // expired meanwhile
            var held = existing.Resource;
            if (held.Fingerprint != fingerprint) return new IdempotencyOutcome.Mismatch();
            if (held.State == Done && held.Response is { } response) return new IdempotencyOutcome.Replay(response);
            if (clock.GetUtcNow() - held.StartedAt < AbandonedAfter) return new IdempotencyOutcome.InProgress();
            try
            {
                var taken = await container.ReplaceItemAsync(started, id, new PartitionKey(userId), new ItemRequestOptions { IfMatchEtag = existing.ETag }, cancellationToken).ConfigureAwait(false);
                return new IdempotencyOutcome.Run(taken.ETag);
            }
            catch (CosmosException again) when (again.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound)
            {
                return new IdempotencyOutcome.InProgress(); // another retry took it over first
            }
        }
    }

    public async Task CompleteAsync(string userId, string key, string fingerprint, StoredResponse response, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        await container.UpsertItemAsync(new KeyDocument(IdOf(key), userId, fingerprint, Done, clock.GetUtcNow(), response), new PartitionKey(userId),
            new ItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The request failed in a way a retry may fix: the key is free again.</summary>
    public async Task ForgetAsync(string userId, string key, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        using var response = await container.DeleteItemStreamAsync(IdOf(key), new PartitionKey(userId), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.NotFound) response.EnsureSuccessStatusCode();
    }

    /// <summary>Keys are the client's text: stored by their hash, which any character can go into.</summary>
    private static string IdOf(string key) => "key_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private ValueTask<Container> ContainerAsync(CancellationToken cancellationToken) => store.GetContainerAsync(CosmosContainers.Idempotency, cancellationToken);

    private const string Started = "started", Done = "done";

    private sealed record KeyDocument(string Id, string UserId, string Fingerprint, string State, DateTimeOffset StartedAt, StoredResponse? Response);
}
