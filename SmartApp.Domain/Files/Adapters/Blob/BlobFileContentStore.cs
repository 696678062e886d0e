using System.Security.Cryptography;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Sas;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Files.Adapters.Blob;

/// <summary>File bytes at <c>users/{userId}/{fileId}</c> in the files container; the name a user gave is never part of the path.</summary>
public sealed class BlobFileContentStore(BlobStore blobs, TimeProvider clock) : IFileContentStore
{
    /// <summary>Blocks of 4 MiB, two in flight: an upload holds at most about 8 MiB of it in memory.</summary>
    private static readonly StorageTransferOptions Transfer = new() { InitialTransferSize = 4 * 1024 * 1024, MaximumTransferSize = 4 * 1024 * 1024, MaximumConcurrency = 2 };

    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    private UserDelegationKey? _delegationKey;

    public async Task<UploadedContent> UploadAsync(string userId, string fileId, Stream content, string contentType, long maxBytes, CancellationToken cancellationToken)
    {
        var blob = await BlobAsync(userId, fileId, cancellationToken).ConfigureAwait(false);
        await using var measured = new MeasuringStream(content, maxBytes, max => new PayloadTooLargeException($"The file may be at most {max} bytes."));
        try
        {
            await blob.UploadAsync(measured, new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = contentType }, TransferOptions = Transfer }, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.ErrorCode == BlobErrorCode.InvalidBlockList)
        {
            // The SDK stages the blocks and commits their list; storage that restarted in between has lost
            // them. The body has been read, so only the client can send it again.
            throw new UpstreamUnavailableException("Storage lost the upload while it was restarting; send the file again.", RetryAfter, ex);
        }
        return measured.Result();
    }

    public async Task<StagedContent?> FindStagedAsync(string userId, string fileId, CancellationToken cancellationToken)
    {
        try
        {
            var properties = await Staging(userId, fileId).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return new StagedContent(properties.Value.ContentLength, properties.Value.ETag.ToString());
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    public async Task<UploadedContent> PromoteStagedAsync(string userId, string fileId, StagedContent staged, string contentType, long maxBytes, CancellationToken cancellationToken)
    {
        var source = Staging(userId, fileId);
        try
        {
            // Read only the version that was measured: bytes written after it fail the read, not the check.
            await using var content = await source.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false)
            {
                Conditions = new BlobRequestConditions { IfMatch = new ETag(staged.Version) },
            }, cancellationToken).ConfigureAwait(false);
            return await UploadAsync(userId, fileId, content, contentType, maxBytes, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412 || ex.ErrorCode == BlobErrorCode.ConditionNotMet)
        {
            throw new ConflictException("The upload's bytes changed while it was being completed; complete it again.");
        }
    }

    public async Task DeleteStagedAsync(string userId, string fileId, CancellationToken cancellationToken)
    {
        try
        {
            await Staging(userId, fileId).DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // The user's uploads container is gone (account deleted).
        }
    }

    public async Task<int> SweepStagedAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        var removed = 0;
        await foreach (var container in blobs.Service.GetBlobContainersAsync(prefix: BlobStore.UploadsContainerPrefix, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var client = blobs.Service.GetBlobContainerClient(container.Name);
            try
            {
                await foreach (var blob in client.GetBlobsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    if (blob.Properties.LastModified is not { } modified || modified >= before) continue;
                    await client.DeleteBlobIfExistsAsync(blob.Name, DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken).ConfigureAwait(false);
                    removed++;
                }
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                // Deleted with its account meanwhile.
            }
        }
        return removed;
    }

    public async Task<Stream> DownloadToTempAsync(string userId, string fileId, ExpectedContent expected, long maxBytes, CancellationToken cancellationToken)
    {
        var blob = await BlobAsync(userId, fileId, cancellationToken).ConfigureAwait(false);
        var temp = new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 81920, System.IO.FileOptions.DeleteOnClose | System.IO.FileOptions.Asynchronous);
        try
        {
            await using (var source = await blob.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false), cancellationToken).ConfigureAwait(false))
            await using (var measured = new MeasuringStream(source, Math.Min(expected.Size, maxBytes), _ => new StoredContentMismatchException($"more than the {expected.Size} bytes recorded")))
            {
                await measured.CopyToAsync(temp, cancellationToken).ConfigureAwait(false);
                var found = measured.Result();
                if (found.Size != expected.Size) throw new StoredContentMismatchException($"{found.Size} bytes where {expected.Size} were recorded");
                if (expected.Sha256 is not null && !string.Equals(found.Sha256, expected.Sha256, StringComparison.OrdinalIgnoreCase))
                    throw new StoredContentMismatchException("their SHA-256 differs from the one recorded");
            }
            temp.Position = 0;
            return temp;
        }
        catch
        {
            await temp.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async Task DeleteAsync(string userId, string fileId, CancellationToken cancellationToken)
    {
        var blob = await BlobAsync(userId, fileId, cancellationToken).ConfigureAwait(false);
        await blob.DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken).ConfigureAwait(false);
        await DeleteStagedAsync(userId, fileId, cancellationToken).ConfigureAwait(false);
    }

    public async Task<SignedUrl> CreateUploadUrlAsync(string userId, string fileId, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        try
        {
            await blobs.UploadsFor(userId).CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.ErrorCode == BlobErrorCode.ContainerBeingDeleted)
        {
            // An account deleted a moment ago under the same user id: Blob Storage takes a while to let the name be used again.
            throw new UpstreamUnavailableException("Storage is still removing this account's earlier uploads; try again in a minute.", TimeSpan.FromSeconds(30), ex);
        }
        return await SignAsync(Staging(userId, fileId), BlobSasPermissions.Create | BlobSasPermissions.Write, lifetime, null, cancellationToken).ConfigureAwait(false);
    }

    public async Task<SignedUrl> CreateDownloadUrlAsync(string userId, string fileId, string fileName, string contentType, TimeSpan lifetime, CancellationToken cancellationToken) =>
        await SignAsync(await BlobAsync(userId, fileId, cancellationToken).ConfigureAwait(false), BlobSasPermissions.Read, lifetime, sas =>
        {
            sas.ContentDisposition = new System.Net.Mime.ContentDisposition { FileName = fileName, DispositionType = "attachment" }.ToString();
            sas.ContentType = contentType;
        }, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// A SAS for one blob: signed with the account key where the client has one (Azurite), else with a
    /// user delegation key from the managed identity (Azure, where shared keys are off).
    /// </summary>
    private async Task<SignedUrl> SignAsync(BlockBlobClient blob, BlobSasPermissions permissions, TimeSpan lifetime, Action<BlobSasBuilder>? configure, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var expires = now + lifetime;
        var sas = new BlobSasBuilder(permissions, expires) { BlobContainerName = blob.BlobContainerName, BlobName = blob.Name, Resource = "b", StartsOn = now.AddMinutes(-5) };
        configure?.Invoke(sas);
        if (blob.CanGenerateSasUri) return new SignedUrl(blob.GenerateSasUri(sas), expires);

        var key = _delegationKey;
        if (key is null || key.SignedExpiresOn < expires.AddMinutes(5))
        {
            key = (await blobs.Service.GetUserDelegationKeyAsync(now.AddMinutes(-5), now.AddHours(12), cancellationToken).ConfigureAwait(false)).Value;
            _delegationKey = key;
        }
        return new SignedUrl(new BlobUriBuilder(blob.Uri) { Sas = sas.ToSasQueryParameters(key, blobs.Service.AccountName) }.ToUri(), expires);
    }

    /// <summary>The upload's staging blob, in the user's uploads container: the only blob its URL can write.</summary>
    private BlockBlobClient Staging(string userId, string fileId) => blobs.UploadsFor(userId).GetBlockBlobClient(fileId);

    private async Task<BlockBlobClient> BlobAsync(string userId, string fileId, CancellationToken cancellationToken)
    {
        await blobs.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        return blobs.Files.GetBlockBlobClient(BlobStore.UserPrefix(userId) + fileId);
    }

    /// <summary>Passes bytes through, counting and hashing them and keeping the first few; past the limit it stops with the given failure.</summary>
    private sealed class MeasuringStream(Stream inner, long maxBytes, Func<long, Exception> tooLong) : Stream
    {
        private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly byte[] _head = new byte[16];
        private long _length;

        public UploadedContent Result() => new(_length, Convert.ToHexStringLower(_sha256.GetHashAndReset()), _head[..(int)Math.Min(_length, _head.Length)]);

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            Observe(buffer.Span[..read]);
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = inner.Read(buffer, offset, count);
            Observe(buffer.AsSpan(offset, read));
            return read;
        }

        private void Observe(ReadOnlySpan<byte> bytes)
        {
            if (_length < _head.Length) bytes[..(int)Math.Min(bytes.Length, _head.Length - _length)].CopyTo(_head.AsSpan((int)_length));
            _length += bytes.Length;
            if (_length > maxBytes) throw tooLong(maxBytes);
            _sha256.AppendData(bytes);
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _length; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _sha256.Dispose();
            base.Dispose(disposing);
        }
    }
}
