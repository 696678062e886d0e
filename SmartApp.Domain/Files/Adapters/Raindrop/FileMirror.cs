using System.Text.Json;
using Azure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Raindrop;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Files.Adapters.Raindrop;

/// <summary>
/// Mirrors files to the SmartBucket as objects keyed <c>users/{userId}/{fileId}</c> (the same path as
/// the blob): a file is put once its bytes are complete (and again when its content changes), and a
/// deleted file's tombstone deletes its object. Chunks are not mirrored: Raindrop makes its own.
/// </summary>
public sealed partial class FileMirror(
    RaindropBuckets buckets, IFileContentStore contents, MirrorLedger ledger, IOptions<FilesOptions> files, IOptions<RaindropOptions> raindrop, ILogger<FileMirror> logger)
    : IMirrorHandler
{
    public const string AreaName = "files";

    public string Area => AreaName;

    public bool Enabled => raindrop.Value.Serves(files.Value.Provider);

    public CosmosContainerSpec Container => CosmosContainers.Files;

    public static string KeyOf(string userId, string fileId) => $"users/{userId}/{fileId}";

    public async Task ApplyAsync(JsonElement change, CancellationToken cancellationToken)
    {
        if (change.Text("type") != "file" || change.Text("id") is not { } fileId || change.Text("userId") is not { } userId) return;
        var mirrored = await ledger.FindAsync(Area, fileId, cancellationToken).ConfigureAwait(false);
        if (change.IsDeleted())
        {
            if (mirrored is null) return; // never reached Raindrop
            await EraseAsync(mirrored, cancellationToken).ConfigureAwait(false);
            await ledger.ForgetAsync(Area, mirrored, cancellationToken).ConfigureAwait(false);
            return;
        }
        // The content hash is set once the bytes are complete; until then there is nothing to send.
        if (change.Text("sha256") is not { } sha256 || mirrored?.Version == sha256) return;
        if (!change.TryGetProperty("size", out var size) || !size.TryGetInt64(out var bytes)) return;
        if (bytes > raindrop.Value.MaxMirroredFileBytes)
        {
            LogTooLarge(logger, fileId, bytes);
            return;
        }

        byte[] content;
        try
        {
            // Only the bytes the record describes go to Raindrop: checked for length and SHA-256 as they are read.
            await using var stream = await contents.DownloadToTempAsync(userId, fileId, new ExpectedContent(bytes, sha256), raindrop.Value.MaxMirroredFileBytes, cancellationToken)
                .ConfigureAwait(false);
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            content = buffer.ToArray();
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return; // deleted meanwhile: its tombstone follows in the feed
        }
        catch (StoredContentMismatchException ex)
        {
            LogMismatch(logger, fileId, ex.Message);
            return;
        }
        var key = await buckets.PutObjectAsync(KeyOf(userId, fileId), content, change.Text("contentType") ?? "application/octet-stream", cancellationToken).ConfigureAwait(false);
        await ledger.RecordAsync(Area, fileId, userId, key, sha256, cancellationToken).ConfigureAwait(false);
    }

    public Task EraseAsync(MirroredItem item, CancellationToken cancellationToken) => buckets.DeleteObjectAsync(item.RaindropId, cancellationToken);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Error, Message = "File {FileId} was not mirrored: its stored bytes are not the ones recorded ({Mismatch})")]
    private static partial void LogMismatch(ILogger logger, string fileId, string mismatch);

    [LoggerMessage(EventId = 5101, Level = LogLevel.Warning, Message = "File {FileId} ({Bytes} bytes) is larger than Raindrop:MaxMirroredFileBytes; it is searched locally only")]
    private static partial void LogTooLarge(ILogger logger, string fileId, long bytes);
}
