using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Raindrop;
using SmartApp.Domain.Files.Adapters.Cosmos;

namespace SmartApp.Domain.Files.Adapters.Raindrop;

/// <summary>
/// File search and document questions on the SmartBucket while Raindrop answers within
/// <see cref="RaindropOptions.ReadTimeout"/>; otherwise (down, slow, circuit open, or nothing of this
/// user's found yet, e.g. a file not mirrored yet) the local hybrid search answers. Only objects
/// under the user's own key prefix are taken, and only files the user still has: Raindrop never
/// shows one user another's passages, nor a file deleted here but not yet there.
/// </summary>
public sealed partial class RaindropFileSearch(
    CosmosFileSearch local, RaindropBuckets buckets, IFileStore files, IOptions<RaindropOptions> options, ILogger<RaindropFileSearch> logger)
    : IFileSearch, IDocumentQuestions
{
    public async Task<IReadOnlyList<FileSearchHit>> SearchAsync(string userId, string query, IReadOnlySet<string>? fileIds, int limit, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.Value.ReadTimeout);
            var results = await buckets.ChunkSearchAsync(query, timeout.Token).ConfigureAwait(false);
            var prefix = FileMirror.KeyOf(userId, "");
            var mine = results
                .Where(r => r.Source?.Object is { } key && key.StartsWith(prefix, StringComparison.Ordinal) && !string.IsNullOrEmpty(r.Text))
                .Select(r => (Result: r, FileId: r.Source!.Object![prefix.Length..]))
                .Where(r => fileIds is null || fileIds.Contains(r.FileId))
                .ToList();
            var stillHere = (await Task.WhenAll(mine.Select(m => m.FileId).Distinct()
                    .Select(fileId => files.FindAsync(userId, fileId, timeout.Token))).ConfigureAwait(false))
                .OfType<StoredFile>().ToDictionary(f => f.Id, StringComparer.Ordinal);
            var hits = mine
                .Where(m => stillHere.ContainsKey(m.FileId))
                .OrderByDescending(m => m.Result.Score ?? 0)
                .Take(limit)
                .Select((m, i) => new FileSearchHit(
                    new FileChunk(m.Result.ChunkSignature ?? $"{m.FileId}#{i}", m.FileId, i, null, 0, m.Result.Text!.Length, m.Result.Text), stillHere[m.FileId].Name, m.Result.Score ?? 0)
                { Provider = Providers.Raindrop })
                .ToList();
            if (hits.Count > 0) return hits;
        }
        catch (Exception ex) when (ex is RaindropException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogFallback(logger, "chunk_search", ex.Message);
        }
        return await local.SearchAsync(userId, query, fileIds, limit, cancellationToken).ConfigureAwait(false);
    }

    public async Task<string?> TryAnswerAsync(string userId, string fileId, string question, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.Value.ReadTimeout);
            var answer = await buckets.DocumentQueryAsync(FileMirror.KeyOf(userId, fileId), question, timeout.Token).ConfigureAwait(false);
            return string.IsNullOrWhiteSpace(answer) ? null : answer.Trim();
        }
        catch (Exception ex) when (ex is RaindropException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogFallback(logger, "document_query", ex.Message);
            return null;
        }
    }

    [LoggerMessage(EventId = 5102, Level = LogLevel.Warning, Message = "Raindrop {Operation} did not answer ({Error}); answered locally")]
    private static partial void LogFallback(ILogger logger, string operation, string error);
}
