using System.Security.Cryptography;
using Azure;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Identity.Adapters.Blob;

/// <summary>
/// The demo signing key: an RSA key made on first start and kept as a PEM blob in the system
/// container, so every worker instance and every restart signs and verifies with the same key.
/// </summary>
public sealed partial class BlobSigningKeyStore : ISigningKeyStore
{
    public const string KeyBlobName = "auth/demo-signing-key.pem";

    private readonly BlobStore _blobs;
    private readonly ILogger<BlobSigningKeyStore> _logger;
    private readonly RetryingLazy<SecurityKey> _key;

    public BlobSigningKeyStore(BlobStore blobs, ILogger<BlobSigningKeyStore> logger)
    {
        _blobs = blobs;
        _logger = logger;
        _key = new RetryingLazy<SecurityKey>(LoadOrCreateAsync);
    }

    public Task<SecurityKey> GetSigningKeyAsync(CancellationToken cancellationToken) => _key.GetAsync(cancellationToken);

    private async Task<SecurityKey> LoadOrCreateAsync()
    {
        await _blobs.EnsureCreatedAsync(CancellationToken.None).ConfigureAwait(false);
        var blob = _blobs.System.GetBlobClient(KeyBlobName);
        try
        {
            return await DownloadAsync().ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            using var rsa = RSA.Create(2048);
            var pem = rsa.ExportPkcs8PrivateKeyPem();
            try
            {
                // If-None-Match: * — when two instances start together, exactly one key wins.
                await blob.UploadAsync(BinaryData.FromString(pem), new BlobUploadOptions
                {
                    Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                    HttpHeaders = new BlobHttpHeaders { ContentType = "application/x-pem-file" },
                }).ConfigureAwait(false);
                LogKeyCreated(_logger, KeyBlobName);
            }
            catch (RequestFailedException conflict) when (conflict.Status is 409 or 412)
            {
                // Another instance stored its key first; use that one.
            }
            return await DownloadAsync().ConfigureAwait(false);
        }

        async Task<SecurityKey> DownloadAsync()
        {
            var content = await blob.DownloadContentAsync().ConfigureAwait(false);
            return ToSecurityKey(content.Value.Content.ToString());
        }
    }

    /// <summary>The signing key from its PEM; the key id is a thumbprint of the public key.</summary>
    public static RsaSecurityKey ToSecurityKey(string pem)
    {
        var rsa = RSA.Create();
        rsa.ImportFromPem(pem);
        var key = new RsaSecurityKey(rsa);
        key.KeyId = Base64UrlEncoder.Encode(key.ComputeJwkThumbprint());
        return key;
    }

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Created the demo signing key at {Blob}")]
    private static partial void LogKeyCreated(ILogger logger, string blob);
}
