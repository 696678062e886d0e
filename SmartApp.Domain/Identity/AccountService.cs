using System.Text.Json;
using Microsoft.Extensions.Logging;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Storage;
using SmartApp.Domain.Common.Telemetry;

namespace SmartApp.Domain.Identity;

/// <summary>
/// The user's own data as a whole: export everything they own, or delete it. A deletion is recorded
/// before it is acknowledged and carried out by the <see cref="WorkQueues.AccountDeletion"/> queue's
/// function: delivered again while it fails, failed with its reason once the host gives up on it, and
/// sent again by a sweep if its message was lost.
/// </summary>
public sealed partial class AccountService(
    IUserRepository users, IAccountDataStore data, IEnumerable<IAccountCopies> copies, IAccountDeletionStore deletions, WorkQueue queue, SpaceAccess spaces, TimeProvider clock,
    ILogger<AccountService> logger)
{
    /// <summary>An unfinished deletion requested longer ago than this has its message sent again by the sweep.</summary>
    public static readonly TimeSpan ResendAfter = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Writes one JSON document with everything the user owns in their own space, or (<paramref name="space"/> <c>org</c>, the
    /// <c>organization:export</c> permission) in their organization's, streaming it as it is read. Everything is checked first.
    /// </summary>
    public async Task ExportAsync(CurrentUser caller, string? space, Stream output, CancellationToken cancellationToken)
    {
        var target = spaces.Writable(caller, space, OrganizationPermissions.Export);
        if (target.Kind == SpaceKind.Personal && await users.FindAsync(caller.UserId, cancellationToken).ConfigureAwait(false) is null)
            throw new NotFoundException("The signed-in user no longer exists.");
        await using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString(target.Kind == SpaceKind.Org ? "organizationId" : "userId", target.OwnerId);
        writer.WriteString("exportedAt", clock.GetUtcNow());
        writer.WriteStartObject("stores");
        await data.ExportAsync(target.OwnerId, writer, cancellationToken).ConfigureAwait(false);
        writer.WriteEndObject();
        writer.WriteEndObject();
        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Records the deletion (durably) and queues it; the answer says where to follow it.</summary>
    public async Task<AccountDeletion> RequestDeletionAsync(CurrentUser caller, CancellationToken cancellationToken)
    {
        var deletion = new AccountDeletion("del_" + Guid.NewGuid().ToString("N"), caller.UserId, AccountDeletionStatus.Pending, clock.GetUtcNow());
        await deletions.SaveAsync(deletion, cancellationToken).ConfigureAwait(false);
        await queue.TrySendAsync(WorkQueues.AccountDeletion, new AccountDeletionMessage(deletion.Id), cancellationToken).ConfigureAwait(false);
        LogRequested(logger, deletion.Id);
        return deletion;
    }

    public async Task<AccountDeletion> GetDeletionAsync(string deletionId, CancellationToken cancellationToken) =>
        (deletionId.Length <= 64 ? await deletions.FindAsync(deletionId, cancellationToken).ConfigureAwait(false) : null)
        ?? throw new NotFoundException("No such account deletion.");

    /// <summary>Carries out the deletion a message names; throws when this attempt failed, so the host delivers it again.</summary>
    public async Task ProcessDeletionAsync(string message, CancellationToken cancellationToken)
    {
        if (await FindUnfinishedAsync(message, cancellationToken).ConfigureAwait(false) is { } deletion)
            await RunAsync(deletion, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The host gave up on the deletion's message (the poison queue): it is failed, with the reason shown to the user.</summary>
    public async Task GiveUpDeletionAsync(string message, CancellationToken cancellationToken)
    {
        if (await FindUnfinishedAsync(message, cancellationToken).ConfigureAwait(false) is not { } deletion) return;
        SmartAppTelemetry.AccountDeletions.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
        SmartAppTelemetry.Poisoned.Add(1, new KeyValuePair<string, object?>("queue", WorkQueues.AccountDeletion));
        LogGaveUp(logger, deletion.Id, deletion.Attempts);
        await deletions.SaveAsync(deletion with
        {
            Status = AccountDeletionStatus.Failed,
            Error = $"Deletion could not be completed after {deletion.Attempts} attempts; support has been alerted.",
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends again the messages of deletions that have waited too long (their message was lost).</summary>
    public async Task ResendStalledAsync(CancellationToken cancellationToken)
    {
        foreach (var unfinished in await deletions.UnfinishedAsync(cancellationToken).ConfigureAwait(false))
            if (clock.GetUtcNow() - unfinished.RequestedAt > ResendAfter)
                await queue.TrySendAsync(WorkQueues.AccountDeletion, new AccountDeletionMessage(unfinished.Id), cancellationToken).ConfigureAwait(false);
    }

    private async Task<AccountDeletion?> FindUnfinishedAsync(string message, CancellationToken cancellationToken)
    {
        if (WorkQueue.Read<AccountDeletionMessage>(message, logger) is not { DeletionId.Length: > 0 and <= 64 } request) return null;
        var deletion = await deletions.FindAsync(request.DeletionId, cancellationToken).ConfigureAwait(false);
        return deletion is null or { Status: AccountDeletionStatus.Completed or AccountDeletionStatus.Failed } ? null : deletion;
    }

    private async Task RunAsync(AccountDeletion deletion, CancellationToken cancellationToken)
    {
        deletion = deletion with { Status = AccountDeletionStatus.Running, Attempts = deletion.Attempts + 1 };
        try
        {
            await deletions.SaveAsync(deletion, cancellationToken).ConfigureAwait(false);
            // The user record goes first: from then on the user's tokens are refused.
            await users.DeleteAsync(deletion.UserId, cancellationToken).ConfigureAwait(false);
            var deleted = new Dictionary<string, int>(await data.DeleteAllAsync(deletion.UserId, cancellationToken).ConfigureAwait(false));
            // Copies elsewhere go after the records they were made from, so none is made again from them.
            foreach (var copy in copies)
                deleted[copy.Name] = await copy.EraseAsync(deletion.UserId, cancellationToken).ConfigureAwait(false);
            await deletions.SaveAsync(deletion with { Status = AccountDeletionStatus.Completed, CompletedAt = clock.GetUtcNow(), Deleted = deleted }, cancellationToken).ConfigureAwait(false);
            LogCompleted(logger, deletion.Id, deleted.Values.Sum());
            SmartAppTelemetry.AccountDeletions.Add(1, new KeyValuePair<string, object?>("outcome", "completed"));
            SmartAppTelemetry.AccountDeletionDuration.Record((clock.GetUtcNow() - deletion.RequestedAt).TotalSeconds);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogAttemptFailed(logger, ex, deletion.Id, deletion.Attempts);
            try
            {
                await deletions.SaveAsync(deletion with { Status = AccountDeletionStatus.Pending }, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception saveFailure) when (saveFailure is not OperationCanceledException)
            {
                LogAttemptFailed(logger, saveFailure, deletion.Id, deletion.Attempts);
            }
            throw; // the host delivers the message again, or moves it to the poison queue
        }
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Account deletion {DeletionId} requested")]
    private static partial void LogRequested(ILogger logger, string deletionId);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Information, Message = "Account deletion {DeletionId} completed: {Count} items removed")]
    private static partial void LogCompleted(ILogger logger, string deletionId, int count);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Warning, Message = "Account deletion {DeletionId} attempt {Attempt} failed")]
    private static partial void LogAttemptFailed(ILogger logger, Exception exception, string deletionId, int attempt);

    [LoggerMessage(EventId = 2205, Level = LogLevel.Error, Message = "Account deletion {DeletionId} failed after {Attempts} attempts; it is marked failed")]
    private static partial void LogGaveUp(ILogger logger, string deletionId, int attempts);
}

/// <summary>An account deletion to carry out, as its queue message names it.</summary>
public sealed record AccountDeletionMessage(string DeletionId);
