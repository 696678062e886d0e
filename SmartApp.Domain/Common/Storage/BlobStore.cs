using System.Security.Cryptography;
using System.Text;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SmartApp.Domain.Common.Storage;

/// <summary>The app's blob containers, created on first use (retried on a later call if storage was down).</summary>
public sealed partial class BlobStore
{
    private readonly BlobServiceClient _service;
    private readonly IOptions<BlobStorageOptions> _options;
    private readonly ILogger<BlobStore> _logger;

    private readonly RetryingLazy<bool> _created;

    public BlobStore(BlobServiceClient service, IOptions<BlobStorageOptions> options, ILogger<BlobStore> logger)
    {
        _service = service;
        _options = options;
        _logger = logger;
        _created = new RetryingLazy<bool>(CreateAsync);
    }

    /// <summary>File bytes, at <c>users/{userId}/{fileId}</c>.</summary>
    public BlobContainerClient Files => _service.GetBlobContainerClient(_options.Value.FilesContainer);

    /// <summary>The app's own state (signing keys and the like); never user data.</summary>
    public BlobContainerClient System => _service.GetBlobContainerClient(_options.Value.SystemContainer);

    /// <summary>Where a user's blobs live: every blob of theirs is under this prefix, and nothing else is.</summary>
    public static string UserPrefix(string userId) => $"users/{userId}/";

    /// <summary>Names of the containers that hold direct uploads' staging blobs, one per user.</summary>
    public const string UploadsContainerPrefix = "uploads-";

    /// <summary>
    /// The user's container for direct uploads on their way in: the only place an upload URL can write.
    /// One per user, so deleting the account deletes it, and every upload URL it gave stops working.
    /// </summary>
    public BlobContainerClient UploadsFor(string userId) =>
        _service.GetBlobContainerClient(UploadsContainerPrefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(userId)))[..40]);

    /// <summary>The account, for what spans containers (user delegation keys for signed URLs).</summary>
    public BlobServiceClient Service => _service;

    public Task EnsureCreatedAsync(CancellationToken cancellationToken) => _created.GetAsync(cancellationToken);

    private async Task<bool> CreateAsync()
    {
        try
        {
            await Files.CreateIfNotExistsAsync().ConfigureAwait(false);
            await System.CreateIfNotExistsAsync().ConfigureAwait(false);
            return true;
        }
        catch (Exception ex)
        {
            LogCreationFailed(_logger, ex);
            throw;
        }
    }

    [LoggerMessage(EventId = 1011, Level = LogLevel.Warning, Message = "Could not create the blob containers; will retry on next use")]
    private static partial void LogCreationFailed(ILogger logger, Exception exception);
}
