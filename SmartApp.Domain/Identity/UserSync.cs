using Microsoft.Extensions.Logging;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Identity;

/// <summary>
/// Users changed or deleted at the identity provider (WorkOS's events list, read from where the last read ended):
/// a changed user's email and name are updated here; a deleted user's account is deleted here, everything they own
/// with it (the same deletion as DELETE /api/me); a deleted organization's space is deleted the same way (its records
/// and blobs, nothing of its members' own spaces). Users who never signed in here are not created. Nothing in demo mode.
/// </summary>
public sealed partial class UserSync(
    IUserRepository users, AccountService accounts, IProviderCheckpoints checkpoints, ILogger<UserSync> logger, IIdentityProvider provider)
{
    private const string Reader = "workos-user-events";

    /// <summary>Pages read in one run (the rest waits for the next).</summary>
    internal const int MaxPages = 20;

    public async Task<int> SyncAsync(CancellationToken cancellationToken)
    {
        if (!NoIdentityProvider.IsReal(provider)) return 0; // demo mode: no events to read, so no checkpoint to read either
        var cursor = await checkpoints.GetAsync(Reader, cancellationToken).ConfigureAwait(false);
        var applied = 0;
        for (var page = 0; page < MaxPages; page++)
        {
            var (events, next) = await provider.ListEventsAsync(cursor, cancellationToken).ConfigureAwait(false);
            foreach (var change in events)
                if (await ApplyAsync(change, cancellationToken).ConfigureAwait(false)) applied++;
            if (next is null || next == cursor) break;
            await checkpoints.SaveAsync(Reader, next, cancellationToken).ConfigureAwait(false);
            cursor = next;
            if (events.Count == 0) break;
        }
        if (applied > 0) LogSynced(logger, applied);
        return applied;
    }

    private async Task<bool> ApplyAsync(IdentityEvent change, CancellationToken cancellationToken)
    {
        switch (change.Type)
        {
            case "user.updated" when !string.IsNullOrWhiteSpace(change.Email):
                return await users.UpdateProfileAsync(change.SubjectId, change.Email, change.Name, cancellationToken).ConfigureAwait(false);
            case "user.deleted":
                if (await users.FindAsync(change.SubjectId, cancellationToken).ConfigureAwait(false) is null) return false;
                var deletion = await accounts.RequestDeletionAsync(new CurrentUser(change.SubjectId, change.Email, change.Name, false), cancellationToken).ConfigureAwait(false);
                LogDeleted(logger, change.SubjectId, deletion.Id);
                return true;
            case "organization.deleted" when SpaceAccess.IsOrganizationId(change.SubjectId):
                // The organization's space is deleted as an account is: by its owner id, which no user id can be.
                var spaceDeletion = await accounts.RequestDeletionAsync(new CurrentUser(change.SubjectId, null, change.Name, false), cancellationToken).ConfigureAwait(false);
                LogOrganizationDeleted(logger, change.SubjectId, spaceDeletion.Id);
                return true;
            default:
                return false;
        }
    }

    [LoggerMessage(EventId = 2120, Level = LogLevel.Information, Message = "Brought {Count} users up to date with WorkOS")]
    private static partial void LogSynced(ILogger logger, int count);

    [LoggerMessage(EventId = 2121, Level = LogLevel.Warning, Message = "User {UserId} was deleted in WorkOS: account deletion {DeletionId} started")]
    private static partial void LogDeleted(ILogger logger, string userId, string deletionId);

    [LoggerMessage(EventId = 2122, Level = LogLevel.Warning, Message = "Organization {OrganizationId} was deleted in WorkOS: deletion {DeletionId} of its space started")]
    private static partial void LogOrganizationDeleted(ILogger logger, string organizationId, string deletionId);
}
