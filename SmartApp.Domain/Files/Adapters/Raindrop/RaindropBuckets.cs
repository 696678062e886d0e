using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Raindrop;

namespace SmartApp.Domain.Files.Adapters.Raindrop;

/// <summary>SmartBuckets: objects in the app's bucket, chunk search across it, and questions about one object.</summary>
public sealed class RaindropBuckets(IHttpClientFactory httpClients, IOptions<RaindropOptions> options) : RaindropClient(httpClients, Area)
{
    public const string Area = "buckets";

    public async Task<string> PutObjectAsync(string key, byte[] content, string contentType, CancellationToken cancellationToken)
    {
        var stored = await PostAsync<PutObjectResponse>("put_object",
            new { bucketLocation = Location(), key, content = Convert.ToBase64String(content), contentType }, cancellationToken).ConfigureAwait(false);
        return string.IsNullOrEmpty(stored.Key) ? key : stored.Key;
    }

    public Task DeleteObjectAsync(string key, CancellationToken cancellationToken) =>
        PostAsync<Empty>("delete_object", new { bucketLocation = Location(), key }, cancellationToken);

    public async Task<IReadOnlyList<TextResult>> ChunkSearchAsync(string input, CancellationToken cancellationToken) =>
        (await PostAsync<SearchResponse>("chunk_search",
            new { bucketLocations = new[] { Location() }, input, requestId = Guid.NewGuid().ToString() }, cancellationToken).ConfigureAwait(false)).Results ?? [];

    public async Task<string> DocumentQueryAsync(string key, string input, CancellationToken cancellationToken) =>
        (await PostAsync<DocumentQueryResponse>("document_query",
            new { bucketLocation = Location(), objectId = key, input, requestId = Guid.NewGuid().ToString() }, cancellationToken).ConfigureAwait(false)).Answer ?? "";

    private object Location() => new { bucket = new { name = options.Value.BucketName, applicationName = options.Value.ApplicationName, version = options.Value.Version } };

    private sealed record PutObjectResponse(string? Key);

    private sealed record Empty;

    private sealed record SearchResponse(List<TextResult>? Results);

    private sealed record DocumentQueryResponse(string? Answer);
}

/// <summary>One passage Raindrop found: its text, score (0–1) and the object it came from.</summary>
public sealed record TextResult(string? Text, double? Score, string? Type, string? ChunkSignature, TextSource? Source);

public sealed record TextSource(string? Object);
