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

    /// <summary>The first page of a search across the bucket; <see cref="SearchPageAsync"/> reads the next ones under the same request id.</summary>
    public async Task<SearchPage> SearchAsync(string input, string requestId, CancellationToken cancellationToken) =>
        (await PostAsync<SearchPage>("search", new { bucketLocations = new[] { Location() }, input, requestId }, cancellationToken).ConfigureAwait(false));

    public async Task<SearchPage> SearchPageAsync(string requestId, int page, int pageSize, CancellationToken cancellationToken) =>
        (await PostAsync<SearchPage>("search_get_page", new { requestId, page, pageSize }, cancellationToken).ConfigureAwait(false));

    /// <summary>An object's indexing status in the bucket: <c>completed</c> once it is searchable there (also <c>processing</c>, <c>failed</c>, …).</summary>
    public async Task<string> DocumentStatusAsync(string key, CancellationToken cancellationToken) =>
        (await PostAsync<DocumentStatusResponse>("document_status", new { bucketLocation = Location(), objectId = key }, cancellationToken).ConfigureAwait(false)).Status ?? "";

    public const string Indexed = "completed";

    public async Task<string> DocumentQueryAsync(string key, string input, CancellationToken cancellationToken) =>
        (await PostAsync<DocumentQueryResponse>("document_query",
            new { bucketLocation = Location(), objectId = key, input, requestId = Guid.NewGuid().ToString() }, cancellationToken).ConfigureAwait(false)).Answer ?? "";

    private object Location() => new { bucket = new { name = options.Value.BucketName, applicationName = options.Value.ApplicationName, version = options.Value.Version } };

    private sealed record PutObjectResponse(string? Key);

    private sealed record Empty;

    private sealed record DocumentStatusResponse(string? Status, List<string>? Errors);

    private sealed record DocumentQueryResponse(string? Answer);
}

/// <summary>One passage Raindrop found: its text, score (0–1) and the object it came from.</summary>
public sealed record TextResult(string? Text, double? Score, string? Type, string? ChunkSignature, TextSource? Source);

public sealed record TextSource(string? Object);

/// <summary>One page of a search: its results, and where it is in the whole.</summary>
public sealed record SearchPage(List<TextResult>? Results, SearchPagination? Pagination);

public sealed record SearchPagination(int Page, int PageSize, bool HasMore, int? Total, int? TotalPages);
