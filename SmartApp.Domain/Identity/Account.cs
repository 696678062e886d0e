using System.Text.Json;

namespace SmartApp.Domain.Identity;

public enum AccountDeletionStatus { Pending, Running, Completed, Failed }

/// <summary>A request to delete everything a user owns, and how far it got.</summary>
public sealed record AccountDeletion(
    string Id,
    string UserId,
    AccountDeletionStatus Status,
    DateTimeOffset RequestedAt,
    DateTimeOffset? CompletedAt = null,
    IReadOnlyDictionary<string, int>? Deleted = null,
    int Attempts = 0,
    string? Error = null);

/// <summary>Everything a user owns, in every store: read out whole, or removed.</summary>
public interface IAccountDataStore
{
    /// <summary>Writes the user's records store by store into an open JSON object, streaming.</summary>
    Task ExportAsync(string userId, Utf8JsonWriter writer, CancellationToken cancellationToken);

    /// <summary>Removes everything the user owns; answers how many items each store lost.</summary>
    Task<IReadOnlyDictionary<string, int>> DeleteAllAsync(string userId, CancellationToken cancellationToken);
}

/// <summary>
/// Copies of a user's data kept outside the system of record (the Raindrop mirror). They are erased
/// after the user's data is deleted; a failure fails the attempt, and the deletion is tried again.
/// </summary>
public interface IAccountCopies
{
    /// <summary>The name the count is reported under in the deletion's <c>deleted</c>.</summary>
    string Name { get; }

    /// <summary>Erases every copy of the user's data; answers how many items went.</summary>
    Task<int> EraseAsync(string userId, CancellationToken cancellationToken);
}

/// <summary>Durable account-deletion requests: written before the 202 is answered, so none is lost.</summary>
public interface IAccountDeletionStore
{
    Task SaveAsync(AccountDeletion deletion, CancellationToken cancellationToken);

    Task<AccountDeletion?> FindAsync(string deletionId, CancellationToken cancellationToken);

    /// <summary>Deletions not yet completed or failed (to resume after a restart).</summary>
    Task<IReadOnlyList<AccountDeletion>> UnfinishedAsync(CancellationToken cancellationToken);
}
