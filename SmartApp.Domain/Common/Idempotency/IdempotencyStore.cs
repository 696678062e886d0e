using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Azure.Cosmos;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Common.Idempotency;

/// <summary>What a request with an Idempotency-Key should do; <typeparamref name="TKept"/> is what the caller keeps of an answer.</summary>
public abstract record IdempotencyOutcome<TKept>
{
    /// <summary>First time: run it, then <see cref="IdempotencyStore.CompleteAsync{TKept}"/> or <see cref="IdempotencyStore.ForgetAsync"/>.</summary>
    public sealed record Run(string ETag) : IdempotencyOutcome<TKept>;

    /// <summary>Done before: answer what was answered then.</summary>
    public sealed record Replay(TKept Kept) : IdempotencyOutcome<TKept>;

    /// <summary>The key was used for a different request.</summary>
    public sealed record Mismatch : IdempotencyOutcome<TKept>;

    /// <summary>The same request is being processed now.</summary>
    public sealed record InProgress : IdempotencyOutcome<TKept>;
}

/// <summary>
/// Idempotency keys in container <c>idempotency</c> (partition <c>/userId</c>, kept a day): per user
/// and key, a fingerprint of the request and, once it is done, what the caller keeps of its answer (the
/// HTTP edge keeps the response; this store does not look inside). A key whose request never finished
/// (the instance died) is taken over after <see cref="AbandonedAfter"/>.
/// </summary>
public sealed class IdempotencyStore(CosmosStore store, TimeProvider clock)
{
    public static readonly TimeSpan AbandonedAfter = TimeSpan.FromMinutes(2);

    public async Task<IdempotencyOutcome<TKept>> BeginAsync<TKept>(string userId, string key, string fingerprint, CancellationToken cancellationToken) where TKept : class
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var id = IdOf(key);
        var started = new KeyDocument<TKept>(id, userId, fingerprint, Started, clock.GetUtcNow(), null);
        try
        {
            var created = await container.CreateItemAsync(started, new PartitionKey(userId), cancellationToken: cancellationToken).ConfigureAwait(false);
            return new IdempotencyOutcome<TKept>.Run(created.ETag);
        }
        catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
        {
            var existing = await container.ReadOrNullAsync<KeyDocument<TKept>>(id, userId, cancellationToken).ConfigureAwait(false);
            if (existing is null) return await BeginAsync<TKept>(userId, key, fingerprint, cancellationToken).ConfigureAwait(false); // expired meanwhile
            var held = existing.Resource;
            if (held.Fingerprint != fingerprint) return new IdempotencyOutcome<TKept>.Mismatch();
            if (held.State == Done && held.Response is { } response) return new IdempotencyOutcome<TKept>.Replay(response);
            if (clock.GetUtcNow() - held.StartedAt < AbandonedAfter) return new IdempotencyOutcome<TKept>.InProgress();
            try
            {
                var taken = await container.ReplaceItemAsync(started, id, new PartitionKey(userId), new ItemRequestOptions { IfMatchEtag = existing.ETag }, cancellationToken).ConfigureAwait(false);
                return new IdempotencyOutcome<TKept>.Run(taken.ETag);
            }
            catch (CosmosException again) when (again.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound)
            {
                return new IdempotencyOutcome<TKept>.InProgress(); // another retry took it over first
            }
        }
    }

    public async Task CompleteAsync<TKept>(string userId, string key, string fingerprint, TKept kept, CancellationToken cancellationToken) where TKept : class
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        await container.UpsertItemAsync(new KeyDocument<TKept>(IdOf(key), userId, fingerprint, Done, clock.GetUtcNow(), kept), new PartitionKey(userId),
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

    private sealed record KeyDocument<TKept>(string Id, string UserId, string Fingerprint, string State, DateTimeOffset StartedAt, TKept? Response) where TKept : class;
}
