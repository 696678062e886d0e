using Microsoft.Extensions.Logging;

namespace SmartApp.Domain.Chat;

/// <summary>
/// Stores a reply as it streams, so a client that lost its connection can read it back and follow it from any instance: the
/// reply's record is written when the turn starts (<see cref="ChatMessageRecord.Streaming"/>), then its text so far at most once
/// per flush interval and at least once per heartbeat, by one writer at a time, off the path that relays tokens. The turn's
/// final write (<see cref="StopAsync"/> first) replaces it.
/// </summary>
internal sealed partial class ReplyRecorder(IConversationStore conversations, LiveReplies live, string userId, ChatMessageRecord draft, IReplySink inner,
    TimeSpan flushInterval, TimeSpan heartbeat, TimeProvider clock, ILogger logger) : IReplySink
{
    /// <summary>The reply's text so far, kept once: reconnecting clients on this instance read it, and the writer stores it.</summary>
    private readonly LiveReply _live = live.Start(draft.Id);
    private readonly CancellationTokenSource _stop = new();
    private IReadOnlyList<Citation> _citations = [];
    private Task _writer = Task.CompletedTask;

    /// <summary>Characters of the text stored so far (text only grows, so its length says whether there is more to store).</summary>
    private int _written;

    public async Task StartAsync(string messageId, string replyId, IReadOnlyList<Citation> citations, CancellationToken cancellationToken)
    {
        _citations = citations;
        // The draft is written beside the first event (it exists before the first text is relayed: a reconnect finds it).
        var draftWritten = WriteAsync(CancellationToken.None);
        await inner.StartAsync(messageId, replyId, citations, cancellationToken).ConfigureAwait(false);
        await draftWritten.ConfigureAwait(false);
        _writer = Task.Run(WriteLoopAsync, CancellationToken.None);
    }

    public Task DeltaAsync(string text, CancellationToken cancellationToken)
    {
        _live.Append(text);
        return inner.DeltaAsync(text, cancellationToken);
    }

    public Task ToolCallAsync(ToolActivity call, CancellationToken cancellationToken) => inner.ToolCallAsync(call, cancellationToken);

    public Task ToolResultAsync(ToolActivity call, CancellationToken cancellationToken) => inner.ToolResultAsync(call, cancellationToken);

    /// <summary>Stops writing progress and waits for a write under way, so the final record is written last.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _writer.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // stopped between writes
        }
        _stop.Dispose();
    }

    /// <summary>The reply's final record is stored: a client following it on this instance reads that.</summary>
    public void End() => live.End(draft.Id);

    /// <summary>The turn failed without a reply: progress stops and the draft, if written, is removed.</summary>
    public async Task AbandonAsync()
    {
        await StopAsync().ConfigureAwait(false);
        End();
        try
        {
            await conversations.DeleteMessageAsync(userId, draft.Id, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogProgressNotStored(logger, draft.Id, ex.GetType().Name); // it reads as interrupted once stale
        }
    }

    private async Task WriteLoopAsync()
    {
        var lastWrite = clock.GetTimestamp();
        using var timer = new PeriodicTimer(flushInterval, clock);
        while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
        {
            if (_live.Length == _written && clock.GetElapsedTime(lastWrite) < heartbeat) continue;
            await WriteAsync(CancellationToken.None).ConfigureAwait(false); // never cut off mid-write: the final write must come after it
            lastWrite = clock.GetTimestamp();
        }
    }

    private async Task WriteAsync(CancellationToken cancellationToken)
    {
        var text = _live.Snapshot().Text;
        try
        {
            await conversations.AddMessageAsync(userId, draft with { Content = text, Citations = _citations, Streaming = true, UpdatedAt = clock.GetUtcNow() }, cancellationToken)
                .ConfigureAwait(false);
            _written = text.Length;
        }
        catch (Exception ex)
        {
            // Progress is a convenience for reconnecting clients: the turn goes on, and its final write is what counts.
            LogProgressNotStored(logger, draft.Id, ex.GetType().Name);
        }
    }

    [LoggerMessage(EventId = 6005, Level = LogLevel.Warning, Message = "The progress of reply {ReplyId} could not be stored ({Error}); the reply goes on")]
    private static partial void LogProgressNotStored(ILogger logger, string replyId, string error);
}
