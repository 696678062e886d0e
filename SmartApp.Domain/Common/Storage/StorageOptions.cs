using System.ComponentModel.DataAnnotations;

namespace SmartApp.Domain.Common.Storage;

/// <summary>Cosmos DB (NoSQL API) settings: section <c>Cosmos</c>.</summary>
public sealed class CosmosOptions : IValidatableObject
{
    public const string Section = "Cosmos";

    /// <summary>The account endpoint, e.g. https://127.0.0.1:8081/ locally or https://{account}.documents.azure.com:443/.</summary>
    [Required, Url]
    public string AccountEndpoint { get; set; } = "";

    /// <summary>An account key. Empty in Azure, where the managed identity is used instead.</summary>
    public string? AccountKey { get; set; }

    [Required, RegularExpression("^[A-Za-z0-9_-]{1,255}$")]
    public string DatabaseName { get; set; } = "smartapp";

    /// <summary>Upper bound for one request, retries included.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:02:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// When the <c>MigrateStoredData</c> timer brings data of an earlier shape into the current one (six-field NCRONTAB;
    /// the host reads it as <c>%Cosmos:MigrationSchedule%</c>; every minute by default).
    /// </summary>
    [Required, RegularExpression(@"^\S+( \S+){5}$", ErrorMessage = "Cosmos:MigrationSchedule is a six-field NCRONTAB expression (seconds first).")]
    public string MigrationSchedule { get; set; } = "0 * * * * *";

    /// <summary>File passages moved, and owners looked up for a move, per run at most.</summary>
    [Range(1, 10_000)]
    public int MigrationBatchSize { get; set; } = 500;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrEmpty(AccountKey) && !Convert.TryFromBase64String(AccountKey, new byte[AccountKey.Length], out _))
            yield return new ValidationResult("Cosmos:AccountKey must be the account's base64 key (or empty, to use the managed identity).", [nameof(AccountKey)]);
    }

    /// <summary>True when the endpoint is the local emulator, whose self-signed certificate is then accepted.</summary>
    public bool IsLocalEmulator =>
        Uri.TryCreate(AccountEndpoint, UriKind.Absolute, out var uri) && (uri.IsLoopback || uri.Host == "localhost");
}

/// <summary>Blob Storage settings: section <c>Storage</c>.</summary>
public sealed class BlobStorageOptions : IValidatableObject
{
    public const string Section = "Storage";

    /// <summary>A connection string (locally: Azurite). Empty in Azure, where <see cref="BlobServiceUri"/> and the managed identity are used.</summary>
    public string? ConnectionString { get; set; }

    public string? BlobServiceUri { get; set; }

    /// <summary>The queue endpoint of the same account; by default <see cref="BlobServiceUri"/>'s with <c>queue</c> for <c>blob</c>.</summary>
    public string? QueueServiceUri { get; set; }

    public Uri QueueServiceEndpoint() => new(!string.IsNullOrWhiteSpace(QueueServiceUri)
        ? QueueServiceUri
        : BlobServiceUri!.Replace(".blob.", ".queue.", StringComparison.OrdinalIgnoreCase));

    [Required, RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")]
    public string FilesContainer { get; set; } = "files";

    [Required, RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")]
    public string SystemContainer { get; set; } = "system";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(ConnectionString) && !Uri.TryCreate(BlobServiceUri, UriKind.Absolute, out _))
            yield return new ValidationResult("Set Storage:ConnectionString, or Storage:BlobServiceUri for a managed identity.",
                [nameof(ConnectionString), nameof(BlobServiceUri)]);
    }
}

/// <summary>The Azure identity used where no key or connection string is configured: section <c>Azure</c>.</summary>
public sealed class AzureIdentityOptions
{
    public const string Section = "Azure";

    /// <summary>The client id of the user-assigned managed identity (AZURE_CLIENT_ID in Azure).</summary>
    public string? ManagedIdentityClientId { get; set; }
}
