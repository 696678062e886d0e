using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Quotas;
using SmartApp.Domain.Common.Raindrop;
using SmartApp.Domain.Common.Search;
using SmartApp.Domain.Files.Ingestion;
using SmartApp.Domain.Identity;
using SmartApp.Domain.Model;

namespace SmartApp.Domain.Files;

/// <summary>
/// The signed-in user's files, in their own space and their organization's: upload (through the app or directly to
/// storage), ingestion, search with citations, questions about one file. Stores are addressed by the space's owner id.
/// </summary>
public sealed partial class FileService(
    IFileStore files, IFileContentStore contents, IFileSearch search, IDocumentQuestions documents, IIngestionQueue ingestion, LanguageModel model, IQuotaGate quotas,
    SpaceAccess spaces, IOptions<FilesOptions> options, TimeProvider clock, ILogger<FileService> logger)
{
    public const int DefaultListCount = 50, MaxListCount = 200, DefaultSearchLimit = 10, MaxSearchLimit = 50, AskPassages = 5, MaxQueryBytes = 4096;
    private const string IdPrefix = "file";

    /// <summary>An answer about a file: short, and close to what the passages say.</summary>
    private const int AnswerTokens = 600;
    private const float AnswerTemperature = 0.1f;
    internal const string PassagesLead = "The model is unavailable; these passages of the document best match the question:";

    internal const string AnswerInstructions =
        "Answer the question using only the numbered passages from the user's document. Cite the passages you use as [1], [2]. " +
        "If the passages do not contain the answer, say that the document does not say.";

    /// <summary>
    /// Streams the body into storage (never whole in memory), then queues ingestion. Over the limit: 413 as soon as it is crossed.
    /// <paramref name="space"/> <c>org</c> puts it in the organization's space (the <c>files:write</c> permission; its plan's limits).
    /// </summary>
    public async Task<StoredFile> UploadAsync(CurrentUser user, string? space, string? name, string? contentType, Stream body, long? contentLength, CancellationToken cancellationToken)
    {
        var owner = spaces.Writable(user, space, OrganizationPermissions.FilesWrite).OwnerId;
        name = FileNames.Check(name);
        contentType = FileNames.CheckContentType(contentType);
        var max = options.Value.MaxFileBytes;
        if (contentLength > max) throw new PayloadTooLargeException($"The file may be at most {max} bytes.");
        if (contentLength == 0) throw new ValidationFailedException("body", "The file is empty.");
        var kept = await EnsureRoomAsync(owner, name, contentType, contentLength ?? 0, cancellationToken).ConfigureAwait(false);

        var fileId = NewId();
        var uploaded = await contents.UploadAsync(owner, fileId, body, contentType, max, cancellationToken).ConfigureAwait(false);
        try
        {
            await quotas.EnsureWithinAsync(owner, QuotaKind.StorageBytes, kept.Bytes + uploaded.Size, cancellationToken).ConfigureAwait(false);
            var file = Accept(new StoredFile(fileId, name, contentType, uploaded.Size, clock.GetUtcNow()) { Space = Space.Of(owner).Kind }, uploaded);
            await files.CreateAsync(owner, file, cancellationToken).ConfigureAwait(false);
            if (file.Status == FileStatus.Queued) await ingestion.EnqueueAsync(owner, fileId, cancellationToken).ConfigureAwait(false);
            return file;
        }
        catch (DomainException)
        {
            // Refused (type, quota): nothing refers to the bytes. Any other failure is left alone: a record
            // write that timed out may still have been saved, and its bytes must then be there.
            await contents.DeleteAsync(owner, fileId, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>For large files: a record waiting for its bytes, and a short-lived URL that may write only that blob.</summary>
    public async Task<(StoredFile File, SignedUrl Upload)> BeginUploadAsync(CurrentUser user, string? space, string? name, string? contentType, long? size, CancellationToken cancellationToken)
    {
        var owner = spaces.Writable(user, space, OrganizationPermissions.FilesWrite).OwnerId;
        name = FileNames.Check(name);
        contentType = FileNames.CheckContentType(contentType);
        if (size is null or <= 0) throw new ValidationFailedException("size", "'size' is required: the file's length in bytes.");
        if (size > options.Value.MaxFileBytes) throw new PayloadTooLargeException($"The file may be at most {options.Value.MaxFileBytes} bytes.");
        await EnsureRoomAsync(owner, name, contentType, size.Value, cancellationToken).ConfigureAwait(false);
        var file = new StoredFile(NewId(), name, contentType, size.Value, clock.GetUtcNow()) { Status = FileStatus.Uploading, Space = Space.Of(owner).Kind };
        // The URL first (it makes the space's uploads container): a failure there leaves no record behind.
        var url = await contents.CreateUploadUrlAsync(owner, file.Id, options.Value.SignedUrlLifetime, cancellationToken).ConfigureAwait(false);
        await files.CreateAsync(owner, file, cancellationToken).ConfigureAwait(false);
        return (file, url);
    }

    /// <summary>
    /// A new write-only URL for a direct upload not yet completed, when the first has expired or soon will: the blocks
    /// already sent stay, so a long upload goes on where it was. Only within <see cref="FilesOptions.MaxUploadDuration"/>
    /// of its start; the sweep then counts from the new URL's expiry.
    /// </summary>
    public async Task<(StoredFile File, SignedUrl Upload)> RenewUploadAsync(CurrentUser user, string fileId, CancellationToken cancellationToken)
    {
        var (owner, file) = await RequireWritableAsync(user, fileId, cancellationToken).ConfigureAwait(false);
        if (file.Status != FileStatus.Uploading) throw new ConflictException("The upload has been completed: nothing more can be written to it.");
        var now = clock.GetUtcNow();
        if (file.CompletingUntil > now) throw new ConflictException("The upload is being completed by another request; read the file in a moment.");
        var ends = file.CreatedAt + options.Value.MaxUploadDuration;
        if (now >= ends) throw new ConflictException($"The upload began more than {options.Value.MaxUploadDuration} ago; begin a new one.");
        var lifetime = options.Value.SignedUrlLifetime < ends - now ? options.Value.SignedUrlLifetime : ends - now;
        var url = await contents.CreateUploadUrlAsync(owner, file.Id, lifetime, cancellationToken).ConfigureAwait(false);
        var renewed = await files.TryUpdateAsync(owner, file with { UploadUntil = url.ExpiresAt, UpdatedAt = now }, cancellationToken).ConfigureAwait(false)
            ?? throw new ConflictException("The upload changed meanwhile; ask for a new URL again.");
        return (renewed, url);
    }

    /// <summary>
    /// After a direct upload: what the staging blob holds must be exactly the size declared at the start
    /// (which the plan's storage was checked against); it is then copied to the file's own blob, which no
    /// URL can write, hashing it on the way, and ingestion is queued. A refused upload is removed entirely
    /// (record and bytes), so nothing of it counts. Completing again answers the file as it is.
    /// </summary>
    public async Task<StoredFile> CompleteUploadAsync(CurrentUser user, string fileId, CancellationToken cancellationToken)
    {
        var (owner, file) = await RequireWritableAsync(user, fileId, cancellationToken).ConfigureAwait(false);
        if (file.Status != FileStatus.Uploading) return file;
        var now = clock.GetUtcNow();
        if (file.CompletingUntil > now) throw new ConflictException("The upload is being completed by another request; read the file in a moment.");
        var staged = await contents.FindStagedAsync(owner, fileId, cancellationToken).ConfigureAwait(false)
            ?? throw new ConflictException("No bytes have been committed for this upload yet: put the blocks and the block list first.");
        if (staged.Size < file.Size)
            throw new ConflictException($"{staged.Size} of the {file.Size} bytes declared have been committed; commit the rest, then complete.");
        if (staged.Size > file.Size)
            throw await RefuseUploadAsync(owner, file, new PayloadTooLargeException(
                $"The upload holds {staged.Size} bytes but {file.Size} were declared; it was removed. Begin a new upload with the file's real size.")).ConfigureAwait(false);
        try
        {
            // The plan may have changed since the upload began; the record already counts the declared size.
            var kept = await files.TotalsAsync(owner, cancellationToken).ConfigureAwait(false);
            await quotas.EnsureWithinAsync(owner, QuotaKind.StorageBytes, kept.Bytes, cancellationToken).ConfigureAwait(false);
        }
        catch (QuotaExceededException ex)
        {
            throw await RefuseUploadAsync(owner, file, ex).ConfigureAwait(false);
        }

        // One request completes it; a second one meanwhile is told to wait (the claim lapses if this one dies).
        file = await files.TryUpdateAsync(owner, file with { CompletingUntil = now + CompletionClaim, UpdatedAt = now }, cancellationToken).ConfigureAwait(false)
            ?? throw new ConflictException("The upload is being completed by another request; read the file in a moment.");
        StoredFile completed;
        try
        {
            var uploaded = await contents.PromoteStagedAsync(owner, fileId, staged, file.ContentType, file.Size, cancellationToken).ConfigureAwait(false);
            completed = Accept(file with { Size = uploaded.Size, CompletingUntil = null, UpdatedAt = clock.GetUtcNow() }, uploaded);
        }
        catch (PayloadTooLargeException)
        {
            throw await RefuseUploadAsync(owner, file, new PayloadTooLargeException(
                $"The upload holds more than the {file.Size} bytes declared; it was removed. Begin a new upload with the file's real size.")).ConfigureAwait(false);
        }
        catch (DomainException ex) when (ex is not ConflictException)
        {
            throw await RefuseUploadAsync(owner, file, ex).ConfigureAwait(false);
        }
        catch
        {
            // Storage failed or the bytes changed: let the next attempt in at once.
            await files.TryUpdateAsync(owner, file with { CompletingUntil = null }, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        var saved = await files.TryUpdateAsync(owner, completed, cancellationToken).ConfigureAwait(false)
            ?? throw new ConflictException("The upload changed while it was being completed; read the file.");
        await contents.DeleteStagedAsync(owner, fileId, CancellationToken.None).ConfigureAwait(false);
        if (saved.Status == FileStatus.Queued) await ingestion.EnqueueAsync(owner, fileId, cancellationToken).ConfigureAwait(false);
        return saved;
    }

    /// <summary>How long one <c>complete</c> holds an upload: copying the largest file takes seconds, not minutes.</summary>
    private static readonly TimeSpan CompletionClaim = TimeSpan.FromMinutes(5);

    /// <summary>Removes a refused direct upload (record, staging and stored bytes) and answers the reason, for the caller to throw.</summary>
    private async Task<DomainException> RefuseUploadAsync(string owner, StoredFile file, DomainException reason)
    {
        await files.DeleteAsync(owner, file.Id, CancellationToken.None).ConfigureAwait(false);
        await contents.DeleteAsync(owner, file.Id, CancellationToken.None).ConfigureAwait(false);
        LogUploadRefused(logger, file.Id, reason.Message);
        return reason;
    }

    /// <summary>
    /// Removes direct uploads never completed once their (last) URL has expired and the grace for completing has
    /// passed (records and staged bytes, so they stop counting), and any staging blob written since.
    /// </summary>
    public async Task<int> SweepAbandonedUploadsAsync(CancellationToken cancellationToken)
    {
        var cutoff = clock.GetUtcNow() - options.Value.SignedUrlLifetime - options.Value.UploadCompletionGrace;
        var removed = 0;
        await foreach (var (userId, fileId) in files.FindAbandonedUploadsAsync(cutoff, cancellationToken).ConfigureAwait(false))
        {
            var now = clock.GetUtcNow();
            if (await files.FindAsync(userId, fileId, cancellationToken).ConfigureAwait(false) is not { Status: FileStatus.Uploading } file
                || file.CompletingUntil > now
                || file.UploadUntil + options.Value.UploadCompletionGrace > now) continue; // being completed, or its URL was renewed
            await files.DeleteAsync(userId, fileId, cancellationToken).ConfigureAwait(false);
            await contents.DeleteAsync(userId, fileId, cancellationToken).ConfigureAwait(false);
            removed++;
        }
        var strays = await contents.SweepStagedAsync(cutoff, cancellationToken).ConfigureAwait(false);
        if (removed + strays > 0) LogUploadsSwept(logger, removed, strays);
        return removed;
    }

    /// <summary>
    /// One more file of <paramref name="bytes"/> must fit the space's plan's file count and storage, and one that would be
    /// indexed needs passages left this month (402 otherwise); answers what the space keeps now.
    /// </summary>
    private async Task<(int Files, long Bytes)> EnsureRoomAsync(string owner, string name, string contentType, long bytes, CancellationToken cancellationToken)
    {
        if (FileFormats.Declared(name, contentType) != FileFormat.Unsupported)
            await quotas.EnsurePassagesLeftAsync(owner, cancellationToken).ConfigureAwait(false);
        var kept = await files.TotalsAsync(owner, cancellationToken).ConfigureAwait(false);
        await quotas.EnsureWithinAsync(owner, QuotaKind.Files, kept.Files + 1, cancellationToken).ConfigureAwait(false);
        await quotas.EnsureWithinAsync(owner, QuotaKind.StorageBytes, kept.Bytes + bytes, cancellationToken).ConfigureAwait(false);
        return kept;
    }

    /// <summary>The file as stored: empty is refused, and a type its first bytes contradict (where it matters) is refused with 415.</summary>
    private static StoredFile Accept(StoredFile file, UploadedContent uploaded)
    {
        if (uploaded.Size == 0) throw new ValidationFailedException("body", "The file is empty.");
        var format = FileFormats.Declared(file.Name, file.ContentType);
        if (!FileFormats.HeadMatches(format, uploaded.Head))
            throw new UnsupportedMediaTypeException($"The bytes are not a {format} file, as '{file.ContentType}' / '{file.Name}' says.");
        return file with { Sha256 = uploaded.Sha256, Status = format == FileFormat.Unsupported ? FileStatus.NotIndexed : FileStatus.Queued };
    }

    /// <summary>The files of the spaces the caller reads (or the one <paramref name="space"/> names), newest first within each, personal first.</summary>
    public async Task<FilePage> ListAsync(CurrentUser user, string? space, string? prefix, string? cursor, int? limit, CancellationToken cancellationToken)
    {
        var count = PageLimit.Of(limit, DefaultListCount, MaxListCount);
        prefix = string.IsNullOrEmpty(prefix) ? null : prefix;
        var (found, next) = await SpacePages.ReadAsync(spaces.Readable(user, space), cursor, count, async (s, inner, wanted) =>
        {
            var page = await files.ListAsync(s.OwnerId, prefix, inner, wanted, cancellationToken).ConfigureAwait(false);
            return (page.Files, page.Cursor);
        }).ConfigureAwait(false);
        return new FilePage(found, next);
    }

    public async Task<StoredFile> GetAsync(CurrentUser user, string fileId, CancellationToken cancellationToken) =>
        (await RequireAsync(user, fileId, cancellationToken).ConfigureAwait(false)).File;

    public async Task<SignedUrl> GetDownloadUrlAsync(CurrentUser user, string fileId, CancellationToken cancellationToken) =>
        await GetDownloadUrlAsync(user, (await RequireAsync(user, fileId, cancellationToken).ConfigureAwait(false)).File, cancellationToken).ConfigureAwait(false);

    /// <summary>A download URL for a file the caller has already read (its bytes are found under its space's prefix).</summary>
    public async Task<SignedUrl> GetDownloadUrlAsync(CurrentUser user, StoredFile file, CancellationToken cancellationToken)
    {
        if (file.Status == FileStatus.Uploading) throw new ConflictException("The upload has not been completed.");
        return await contents.CreateDownloadUrlAsync(SpaceAccess.Of(user, file.Space).OwnerId, file.Id, file.Name, file.ContentType, options.Value.SignedUrlLifetime, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes the record (at once, so no search returns the file), its chunks and its bytes.</summary>
    public async Task DeleteAsync(CurrentUser user, string fileId, CancellationToken cancellationToken)
    {
        var (owner, _) = await RequireWritableAsync(user, fileId, cancellationToken).ConfigureAwait(false);
        if (!await files.DeleteAsync(owner, fileId, cancellationToken).ConfigureAwait(false))
            throw new NotFoundException("No such file.");
        await contents.DeleteAsync(owner, fileId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Queues a failed file for ingestion again.</summary>
    public async Task<StoredFile> RetryAsync(CurrentUser user, string fileId, CancellationToken cancellationToken)
    {
        var (owner, file) = await RequireWritableAsync(user, fileId, cancellationToken).ConfigureAwait(false);
        if (file.Status != FileStatus.Failed && file.NotIndexed is null)
            throw new ConflictException($"Only a failed file, or one the plan did not index in full, can be retried; this one is {EnumNames.Of(file.Status)}.");
        // A retry starts afresh: its passages are granted (and counted) again.
        var queued = await files.TryUpdateAsync(owner, file with
        {
            Status = FileStatus.Queued,
            Attempts = 0,
            PassagesGranted = null,
            NotIndexed = null,
            Errors = [],
            UpdatedAt = clock.GetUtcNow(),
            ContinueAt = null,
        }, cancellationToken).ConfigureAwait(false)
            ?? throw new ConflictException("The file changed meanwhile; read it again.");
        await ingestion.EnqueueAsync(owner, fileId, cancellationToken).ConfigureAwait(false);
        return queued;
    }

    /// <summary>
    /// The best passages across the spaces the caller reads (or only <paramref name="fileIds"/>, wherever each is), each
    /// naming its space; every space is searched with the same ranking, so their scores compare.
    /// </summary>
    public async Task<IReadOnlyList<FileSearchHit>> SearchAsync(CurrentUser user, string? query, IReadOnlyList<string>? fileIds, int? limit, CancellationToken cancellationToken)
    {
        query = RequireQuery(query, "query");
        var count = PageLimit.Of(limit, DefaultSearchLimit, MaxSearchLimit);
        var searches = new List<(Space Space, HashSet<string>? Only)>();
        if (fileIds is { Count: > 0 })
        {
            if (fileIds.Count > 50) throw new ValidationFailedException("fileIds", "At most 50 file ids.");
            foreach (var id in fileIds.Distinct(StringComparer.Ordinal))
            {
                var (owner, _) = await RequireAsync(user, id, cancellationToken).ConfigureAwait(false);
                if (searches.FindIndex(s => s.Space.OwnerId == owner) is var at and >= 0) searches[at].Only!.Add(id);
                else searches.Add((Space.Of(owner), new HashSet<string>(StringComparer.Ordinal) { id }));
            }
        }
        else searches.AddRange(spaces.Readable(user).Select(s => (s, (HashSet<string>?)null)));

        var found = await Task.WhenAll(searches.Select(async s =>
            (await search.SearchAsync(s.Space.OwnerId, query, s.Only, count, cancellationToken).ConfigureAwait(false)).Select(hit => hit with { Space = s.Space.Kind }))).ConfigureAwait(false);
        return SpaceAccess.BestOf(found, hit => hit.Score, count);
    }

    /// <summary>
    /// Answers from the file's best passages, citing them. When the model is unavailable the answer is
    /// those passages, flagged <see cref="FileAnswer.RetrievalOnly"/>: the user still gets what the file says.
    /// </summary>
    public async Task<FileAnswer> AskAsync(CurrentUser user, string fileId, string? question, CancellationToken cancellationToken)
    {
        question = RequireQuery(question, "question");
        var (owner, file) = await RequireAsync(user, fileId, cancellationToken).ConfigureAwait(false);
        if (file.Status != FileStatus.Indexed)
            throw new ConflictException($"The file is not indexed (it is {EnumNames.Of(file.Status)}); ask again when it is.");
        var passages = (await search.SearchAsync(owner, question, new HashSet<string> { fileId }, AskPassages, cancellationToken).ConfigureAwait(false))
            .Select(hit => hit with { Space = file.Space }).ToList();
        if (await documents.TryAnswerAsync(owner, fileId, question, cancellationToken).ConfigureAwait(false) is { Length: > 0 } read)
            return new FileAnswer(read, passages, RetrievalOnly: false) { Provider = Providers.Raindrop };
        if (passages.Count == 0) return new FileAnswer("The document does not say.", [], RetrievalOnly: false);

        var prompt = new StringBuilder().Append("Document: ").Append(file.Name).Append("\n\n");
        for (var i = 0; i < passages.Count; i++)
            prompt.Append('[').Append(i + 1).Append("] ").Append(passages[i].Chunk.Page is { } page ? $"(page {page}) " : "").Append(passages[i].Chunk.Text).Append("\n\n");
        prompt.Append("Question: ").Append(question);

        var reply = await model.AnswerAsync("answer about a file", [new ChatMessage(ChatRole.System, AnswerInstructions), new ChatMessage(ChatRole.User, prompt.ToString())],
            new ChatOptions { Temperature = AnswerTemperature, MaxOutputTokens = AnswerTokens }, options.Value.AnswerTimeout, cancellationToken).ConfigureAwait(false);
        return reply.IsEmpty
            ? new FileAnswer(LanguageModel.SourcesAnswer(PassagesLead, passages.Select(p => p.Chunk.Text)), passages, RetrievalOnly: true)
            : new FileAnswer(reply.Text.Trim(), passages, RetrievalOnly: false);
    }

    /// <summary>The file and its space's owner id, looked up in each space the caller reads (ids are unique across spaces); 404 when in none.</summary>
    private async Task<(string Owner, StoredFile File)> RequireAsync(CurrentUser user, string fileId, CancellationToken cancellationToken) =>
        (IsWellFormed(fileId) ? await spaces.FindAsync(user, s => files.FindAsync(s.OwnerId, fileId, cancellationToken)).ConfigureAwait(false) : null)
            is { } found ? (found.Space.OwnerId, found.Item) : throw new NotFoundException("No such file.");

    /// <summary>As <see cref="RequireAsync"/>, for a change: one in the organization's space takes <c>files:write</c> (403).</summary>
    private async Task<(string Owner, StoredFile File)> RequireWritableAsync(CurrentUser user, string fileId, CancellationToken cancellationToken)
    {
        var found = await RequireAsync(user, fileId, cancellationToken).ConfigureAwait(false);
        spaces.EnsureMayWrite(user, Space.Of(found.Owner), OrganizationPermissions.FilesWrite);
        return found;
    }

    private static string RequireQuery(string? text, string field)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new ValidationFailedException(field, $"'{field}' is required.");
        if (Encoding.UTF8.GetByteCount(text) > MaxQueryBytes) throw new ValidationFailedException(field, $"'{field}' may be at most {MaxQueryBytes} bytes.");
        return text.Trim();
    }

    private static string NewId() => Ids.New(IdPrefix);

    private static bool IsWellFormed(string? id) => Ids.IsWellFormed(id, IdPrefix);

    [LoggerMessage(EventId = 5011, Level = LogLevel.Information, Message = "Direct upload {FileId} refused at completion and removed: {Reason}")]
    private static partial void LogUploadRefused(ILogger logger, string fileId, string reason);

    [LoggerMessage(EventId = 5012, Level = LogLevel.Information, Message = "Removed {Uploads} abandoned direct uploads and {Strays} stray staging blobs")]
    private static partial void LogUploadsSwept(ILogger logger, int uploads, int strays);
}
