using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Raindrop;
using SmartApp.Domain.Files.Adapters.Cosmos;

namespace SmartApp.Domain.Files.Adapters.Raindrop;

/// <summary>
/// File search and document questions on the SmartBucket while Raindrop answers within
/// <see cref="RaindropOptions.ReadTimeout"/>; otherwise (down, slow, circuit open, a file of the user's
/// still indexing there, the user's passages crowded out by others' for <see cref="MaxPages"/> pages,
/// or nothing of this user's found) the local hybrid search answers. Only objects under the user's own
/// key prefix are taken, and only files the user still has: Raindrop never shows one user another's
/// passages, nor a file deleted here but not yet there. (Objects are put without a partition — put_object
/// takes none — so searches cannot be narrowed to one user there; paging is how the user's hits are found.)
/// </summary>
public sealed partial class RaindropFileSearch(
    CosmosFileSearch local, RaindropBuckets buckets, IFileStore files, MirrorLedger ledger, IOptions<RaindropOptions> options, TimeProvider clock,
    ILogger<RaindropFileSearch> logger)
    : IFileSearch, IDocumentQuestions
{
    /// <summary>Pages of results read to find the user's hits among everyone's before answering locally instead.</summary>
    internal const int MaxPages = 3;

    /// <summary>Files whose indexing status is asked in one search (more still indexing: answered locally).</summary>
    internal const int MaxStatusChecks = 5;

    public async Task<IReadOnlyList<FileSearchHit>> SearchAsync(string userId, string query, IReadOnlySet<string>? fileIds, int limit, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.Value.ReadTimeout);
            // A file Raindrop has not finished indexing is missing from its results while the others answer: the local search has it.
            if (await StillIndexingAsync(userId, fileIds, timeout.Token).ConfigureAwait(false) is { } indexing)
            {
                LogStillIndexing(logger, indexing);
                return await local.SearchAsync(userId, query, fileIds, limit, cancellationToken).ConfigureAwait(false);
            }
            var prefix = FileMirror.KeyOf(userId, "");
            var requestId = Guid.NewGuid().ToString();
            var page = await buckets.SearchAsync(query, requestId, timeout.Token).ConfigureAwait(false);
            var mine = new List<(TextResult Result, string FileId)>();
            for (var pages = 1; ; pages++)
            {
                mine.AddRange((page.Results ?? [])
                    .Where(r => r.Source?.Object is { } key && key.StartsWith(prefix, StringComparison.Ordinal) && !string.IsNullOrEmpty(r.Text))
                    .Select(r => (Result: r, FileId: r.Source!.Object![prefix.Length..]))
                    .Where(r => fileIds is null || fileIds.Contains(r.FileId)));
                if (mine.Count >= limit || page.Pagination is not { HasMore: true } more) break;
                if (pages == MaxPages)
                {
                    // Other users' passages fill the pages this user's would be on: the local search is this user's alone.
                    LogCrowdedOut(logger, MaxPages);
                    return await local.SearchAsync(userId, query, fileIds, limit, cancellationToken).ConfigureAwait(false);
                }
                page = await buckets.SearchPageAsync(requestId, more.Page + 1, more.PageSize, timeout.Token).ConfigureAwait(false);
            }
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
            LogFallback(logger, "search", ex.Message);
        }
        return await local.SearchAsync(userId, query, fileIds, limit, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// How many of the user's files (of <paramref name="fileIds"/>, when given) Raindrop has taken but not yet indexed, or null
    /// when none. Files not yet reported indexed are asked about (<c>document_status</c>), a few per search, and noted once indexed.
    /// </summary>
    private async Task<int?> StillIndexingAsync(string userId, IReadOnlySet<string>? fileIds, CancellationToken cancellationToken)
    {
        var pending = (await ledger.NotIndexedAsync(FileMirror.AreaName, userId, cancellationToken).ConfigureAwait(false))
            .Where(item => fileIds is null || fileIds.Contains(item.ItemId)).ToList();
        if (pending.Count > MaxStatusChecks) return pending.Count;
        var indexing = 0;
        foreach (var item in pending)
        {
            var status = await buckets.DocumentStatusAsync(item.RaindropId, cancellationToken).ConfigureAwait(false);
            if (status == RaindropBuckets.Indexed) await ledger.MarkIndexedAsync(FileMirror.AreaName, item.ItemId, clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            else indexing++;
        }
        return indexing == 0 ? null : indexing;
    }

    public async Task<string?> TryAnswerAsync(string userId, string fileId, string question, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.Value.ReadTimeout);
            if (await StillIndexingAsync(userId, new HashSet<string>(StringComparer.Ordinal) { fileId }, timeout.Token).ConfigureAwait(false) is not null) return null;
            var answer = await buckets.DocumentQueryAsync(FileMirror.KeyOf(userId, fileId), question, timeout.Token).ConfigureAwait(false);
            return string.IsNullOrWhiteSpace(answer) ? null : answer.Trim();
        }
        catch (Exception ex) when (ex is RaindropException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogFallback(logger, "document_query", ex.Message);
            return null;
        }
    }

    [LoggerMessage(EventId = 5103, Level = LogLevel.Information, Message = "{Files} of the user's files are still indexing in Raindrop; searched locally")]
    private static partial void LogStillIndexing(ILogger logger, int files);

    [LoggerMessage(EventId = 5104, Level = LogLevel.Information, Message = "Other users' passages filled {Pages} pages of Raindrop's results; searched locally")]
    private static partial void LogCrowdedOut(ILogger logger, int pages);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Warning, Message = "Raindrop {Operation} did not answer ({Error}); answered locally")]
    private static partial void LogFallback(ILogger logger, string operation, string error);
}
