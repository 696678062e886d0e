using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Raindrop;
using SmartApp.Domain.Files;
using SmartApp.Domain.Identity;
using SmartApp.Functions.Http;

namespace SmartApp.Functions.Files;

/// <summary>The user's files (the OpenAPI document's "Files" tag): upload, direct upload, status, download, search with citations, questions.</summary>
public sealed class FileFunctions(FileService files, IOptions<FilesOptions> options)
{
    /// <summary>
    /// The bytes in the body, streamed to storage: raw (<c>Content-Type</c> and <c>X-File-Name</c>, percent-encoded
    /// if not ASCII) or <c>multipart/form-data</c> (its first file part). 201 with the file; ingestion follows.
    /// </summary>
    [Function("FileUpload")]
    public async Task<IActionResult> Upload([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "files")] HttpRequest req)
    {
        var cancellationToken = req.HttpContext.RequestAborted;
        req.RaiseBodyLimit(options.Value.MaxFileBytes + 64 * 1024); // multipart framing on top of the file

        StoredFile file;
        if (MediaTypeHeaderValue.TryParse(req.ContentType, out var mediaType) && mediaType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            var boundary = HeaderUtilities.RemoveQuotes(mediaType.Boundary).Value
                ?? throw new ValidationFailedException("body", "The multipart body has no boundary.");
            var reader = new MultipartReader(boundary, req.Body) { BodyLengthLimit = null };
            MultipartSection? section;
            while ((section = await reader.ReadNextSectionAsync(cancellationToken).ConfigureAwait(false)) is not null)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) || !disposition.IsFileDisposition()) continue;
                var name = disposition.FileNameStar.HasValue ? disposition.FileNameStar.Value : HeaderUtilities.RemoveQuotes(disposition.FileName).Value;
                file = await files.UploadAsync(req.CurrentUser(), req.Query[SpaceAccess.Parameter], name, section.ContentType, section.Body, null, cancellationToken).ConfigureAwait(false);
                return Created(file);
            }
            throw new ValidationFailedException("file", "The multipart body has no file part.");
        }

        file = await files.UploadAsync(req.CurrentUser(), req.Query[SpaceAccess.Parameter], req.Headers["X-File-Name"], req.ContentType, req.Body, req.ContentLength, cancellationToken).ConfigureAwait(false);
        return Created(file);
    }

    /// <summary>Large files: <c>{ name, contentType, size }</c> → a write-only URL for this one blob (Put Block / Put Block List; blocks can be sent again).</summary>
    [Function("FileUploadBegin")]
    public async Task<IActionResult> BeginUpload([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "files/uploads")] HttpRequest req)
    {
        var body = await req.ReadJsonAsync<BeginUploadRequest>().ConfigureAwait(false);
        var (file, upload) = await files.BeginUploadAsync(req.CurrentUser(), req.Query[SpaceAccess.Parameter], body.Name, body.ContentType, body.Size, req.HttpContext.RequestAborted).ConfigureAwait(false);
        req.HttpContext.Response.Headers.CacheControl = "no-store";
        return new CreatedResult($"/api/files/{file.Id}", UploadResponse.From(file, upload));
    }

    /// <summary>A new write-only URL for a direct upload not yet completed (the blocks already sent stay).</summary>
    [Function("FileUploadRenew")]
    public async Task<IActionResult> RenewUpload([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "files/{fileId}/upload-url")] HttpRequest req, string fileId)
    {
        var (file, upload) = await files.RenewUploadAsync(req.CurrentUser(), fileId, req.HttpContext.RequestAborted).ConfigureAwait(false);
        req.HttpContext.Response.Headers.CacheControl = "no-store";
        return new OkObjectResult(UploadResponse.From(file, upload));
    }

    [Function("FileUploadComplete")]
    public async Task<IActionResult> CompleteUpload([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "files/{fileId}/complete")] HttpRequest req, string fileId)
    {
        var file = await files.CompleteUploadAsync(req.CurrentUser(), fileId, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(FileResponse.From(file));
    }

    [Function("FileList")]
    public async Task<IActionResult> List([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "files")] HttpRequest req)
    {
        var page = await files.ListAsync(req.CurrentUser(), req.Query[SpaceAccess.Parameter], req.Query["prefix"], req.Query["cursor"], req.QueryInt("limit"), req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new FilePage(page.Files.Select(FileResponse.From).ToList(), page.Cursor));
    }

    [Function("FileGet")]
    public async Task<IActionResult> Get([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "files/{fileId}")] HttpRequest req, string fileId)
    {
        var file = await files.GetAsync(req.CurrentUser(), fileId, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(FileResponse.From(file));
    }

    /// <summary>302 to a read-only URL for the bytes, valid for a few minutes.</summary>
    [Function("FileContent")]
    public async Task<IActionResult> Content([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "files/{fileId}/content")] HttpRequest req, string fileId)
    {
        var url = await files.GetDownloadUrlAsync(req.CurrentUser(), fileId, req.HttpContext.RequestAborted).ConfigureAwait(false);
        req.HttpContext.Response.Headers.CacheControl = "no-store";
        // Script clients cannot read a redirect's target (or send their token to it): asked for JSON, they get the URL itself.
        if (req.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)))
            return new OkObjectResult(url);
        return new RedirectResult(url.Url.ToString());
    }

    [Function("FileDelete")]
    public async Task<IActionResult> Delete([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "files/{fileId}")] HttpRequest req, string fileId)
    {
        await files.DeleteAsync(req.CurrentUser(), fileId, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new NoContentResult();
    }

    /// <summary>A failed file, queued for ingestion again.</summary>
    [Function("FileRetry")]
    public async Task<IActionResult> Retry([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "files/{fileId}/retry")] HttpRequest req, string fileId)
    {
        var file = await files.RetryAsync(req.CurrentUser(), fileId, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new AcceptedResult($"/api/files/{file.Id}", FileResponse.From(file));
    }

    [Function("FileSearch")]
    public async Task<IActionResult> Search([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "files/search")] HttpRequest req)
    {
        var body = await req.ReadJsonAsync<SearchRequest>().ConfigureAwait(false);
        var hits = await files.SearchAsync(req.CurrentUser(), body.Query, body.FileIds, body.Limit, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new SearchResponse(hits.Select(Citation.From).ToList(), hits.Count > 0 ? hits[0].Provider : Providers.Azure));
    }

    /// <summary><c>{ question }</c> → an answer from the file's best passages, with those passages as citations.</summary>
    [Function("FileAsk")]
    public async Task<IActionResult> Ask([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "files/{fileId}/ask")] HttpRequest req, string fileId)
    {
        var body = await req.ReadJsonAsync<AskRequest>().ConfigureAwait(false);
        var answer = await files.AskAsync(req.CurrentUser(), fileId, body.Question, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new AskResponse(answer.Answer, answer.Citations.Select(Citation.From).ToList(), answer.RetrievalOnly, answer.Provider));
    }

    private static CreatedResult Created(StoredFile file) => new($"/api/files/{file.Id}", FileResponse.From(file));

    public sealed record BeginUploadRequest(string? Name, string? ContentType, long? Size);

    public sealed record SearchRequest(string? Query, IReadOnlyList<string>? FileIds, int? Limit);

    public sealed record AskRequest(string? Question, string? ConversationId);

    public sealed record Citation(string FileId, string FileName, string ChunkId, int? Page, int Start, int End, double Score, string Text, string Provider, SpaceKind Space)
    {
        public static Citation From(FileSearchHit hit) =>
            new(hit.Chunk.FileId, hit.FileName, hit.Chunk.Id, hit.Chunk.Page, hit.Chunk.Start, hit.Chunk.End, hit.Score, hit.Chunk.Text, hit.Provider, hit.Space);
    }

    public sealed record FileResponse(
        string Id, string Name, long Size, string ContentType, string? Sha256, FileStatus Status,
        IReadOnlyDictionary<string, StageProgress> Stages, IReadOnlyList<string> Errors, int ChunkCount,
        DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? IndexedAt, NotIndexedPart? NotIndexed, SpaceKind Space)
    {
        public static FileResponse From(StoredFile f) => new(
            f.Id, f.Name, f.Size, f.ContentType, f.Sha256, f.Status,
            f.Stages.ToDictionary(s => EnumNames.Of(s.Key), s => s.Value), f.Errors, f.ChunkCount,
            f.CreatedAt, f.UpdatedAt, f.IndexedAt, f.NotIndexed, f.Space);
    }

    public sealed record UploadResponse(string FileId, Uri UploadUrl, DateTimeOffset ExpiresAt, string CompleteUrl)
    {
        public static UploadResponse From(StoredFile file, SignedUrl upload) => new(file.Id, upload.Url, upload.ExpiresAt, $"/api/files/{file.Id}/complete");
    }

    public sealed record FilePage(IReadOnlyList<FileResponse> Files, string? Cursor);

    public sealed record SearchResponse(IReadOnlyList<Citation> Results, string Provider);

    public sealed record AskResponse(string Answer, IReadOnlyList<Citation> Citations, bool RetrievalOnly, string? Provider);
}
