using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Telemetry;

namespace SmartApp.Domain.Identity;

/// <summary>
/// The user's own data as a whole: export everything they own, or delete it. A deletion is recorded
/// before it is acknowledged and carried out in the background, resumed after a restart.
/// </summary>
public sealed partial class AccountService(
    IUserRepository users, IAccountDataStore data, IEnumerable<IAccountCopies> copies, IAccountDeletionStore deletions, TimeProvider clock, ILogger<AccountService> logger)
{
    private const int MaxAttempts = 5;

    /// <summary>Unfinished deletions are picked up this long after start, out of the way of a cold start.</summary>
    public static readonly TimeSpan ResumeDelay = TimeSpan.FromSeconds(5);
    private readonly Channel<string> _queue = Channel.CreateUnbounded<string>();

    /// <summary>Writes one JSON document with everything the user owns, streaming it as it is read.</summary>
    public async Task ExportAsync(CurrentUser caller, Stream output, CancellationToken cancellationToken)
    {
        var user = await users.FindAsync(caller.UserId, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException("The signed-in user no longer exists.");
        await using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("userId", user.Id);
        writer.WriteString("exportedAt", clock.GetUtcNow());
        writer.WriteStartObject("stores");
        await data.ExportAsync(user.Id, writer, cancellationToken).ConfigureAwait(false);
        writer.WriteEndObject();
        writer.WriteEndObject();
        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Records the deletion (durably) and queues it; the answer says where to follow it.</summary>
    public async Task<AccountDeletion> RequestDeletionAsync(CurrentUser caller, CancellationToken cancellationToken)
    {
        var deletion = new AccountDeletion("del_" + Guid.NewGuid().ToString("N"), caller.UserId, AccountDeletionStatus.Pending, clock.GetUtcNow());
        await deletions.SaveAsync(deletion, cancellationToken).ConfigureAwait(false);
        _queue.Writer.TryWrite(deletion.Id);
        LogRequested(logger, deletion.Id);
        return deletion;
    }

    public async Task<AccountDeletion> GetDeletionAsync(string deletionId, CancellationToken cancellationToken) =>
        (deletionId.Length <= 64 ? await deletions.FindAsync(deletionId, cancellationToken).ConfigureAwait(false) : null)
        ?? throw new NotFoundException("No such account deletion.");

    /// <summary>Carries out queued deletions until the app stops, starting with those a restart interrupted.</summary>
    public async Task ProcessDeletionsAsync(CancellationToken stoppingToken)
    {
        try
        {
            foreach (var unfinished in await deletions.UnfinishedAsync(stoppingToken).ConfigureAwait(false))
                _queue.Writer.TryWrite(unfinished.Id);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogResumeFailed(logger, ex);
        }

        await foreach (var id in _queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            var deletion = await deletions.FindAsync(id, stoppingToken).ConfigureAwait(false);
            if (deletion is null or { Status: AccountDeletionStatus.Completed or AccountDeletionStatus.Failed }) continue;
            await RunAsync(deletion, stoppingToken).ConfigureAwait(false);
        }
    }

    private async Task RunAsync(AccountDeletion deletion, CancellationToken stoppingToken)
    {
        deletion = deletion with { Status = AccountDeletionStatus.Running, Attempts = deletion.Attempts + 1 };
        try
        {
            await deletions.SaveAsync(deletion, stoppingToken).ConfigureAwait(false);
            // The user record goes first: from then on the user's tokens are refused.
            await users.DeleteAsync(deletion.UserId, stoppingToken).ConfigureAwait(false);
            var deleted = new Dictionary<string, int>(await data.DeleteAllAsync(deletion.UserId, stoppingToken).ConfigureAwait(false));
            // Copies elsewhere go after the records they were made from, so none is made again from them.
            foreach (var copy in copies)
                deleted[copy.Name] = await copy.EraseAsync(deletion.UserId, stoppingToken).ConfigureAwait(false);
            await deletions.SaveAsync(deletion with { Status = AccountDeletionStatus.Completed, CompletedAt = clock.GetUtcNow(), Deleted = deleted }, stoppingToken).ConfigureAwait(false);
            LogCompleted(logger, deletion.Id, deleted.Values.Sum());
            SmartAppTelemetry.AccountDeletions.Add(1, new KeyValuePair<string, object?>("outcome", "completed"));
            SmartAppTelemetry.AccountDeletionDuration.Record((clock.GetUtcNow() - deletion.RequestedAt).TotalSeconds);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            LogAttemptFailed(logger, ex, deletion.Id, deletion.Attempts);
            var failed = deletion.Attempts >= MaxAttempts;
            if (failed) SmartAppTelemetry.AccountDeletions.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
            try
            {
                await deletions.SaveAsync(deletion with
                {
                    Status = failed ? AccountDeletionStatus.Failed : AccountDeletionStatus.Pending,
                    Error = failed ? "Deletion could not be completed; support has been alerted." : null,
                }, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception saveFailure) when (saveFailure is not OperationCanceledException)
            {
                LogAttemptFailed(logger, saveFailure, deletion.Id, deletion.Attempts);
            }
            if (!failed)
                _ = Task.Delay(TimeSpan.FromSeconds(5 * deletion.Attempts), clock, stoppingToken)
                    .ContinueWith(_ => _queue.Writer.TryWrite(deletion.Id), TaskScheduler.Default);
        }
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Account deletion {DeletionId} requested")]
    private static partial void LogRequested(ILogger logger, string deletionId);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Information, Message = "Account deletion {DeletionId} completed: {Count} items removed")]
    private static partial void LogCompleted(ILogger logger, string deletionId, int count);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Warning, Message = "Account deletion {DeletionId} attempt {Attempt} failed")]
    private static partial void LogAttemptFailed(ILogger logger, Exception exception, string deletionId, int attempt);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Error, Message = "Could not resume unfinished account deletions")]
    private static partial void LogResumeFailed(ILogger logger, Exception exception);

    /// <summary>
    /// Runs the deletions in the background. It starts <see cref="ResumeDelay"/> after the app, out
    /// of the way of a cold start; requests queued meanwhile wait in the queue.
    /// </summary>
    public sealed class Runner(IServiceProvider services, TimeProvider clock) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await Task.Delay(ResumeDelay, clock, stoppingToken).ConfigureAwait(false);
            await services.GetRequiredService<AccountService>().ProcessDeletionsAsync(stoppingToken).ConfigureAwait(false);
        }
    }
}
