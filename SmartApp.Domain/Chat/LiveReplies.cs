using System.Collections.Concurrent;
using System.Text;

namespace SmartApp.Domain.Chat;

/// <summary>
/// The replies this instance is generating, by id, with their text so far: a client that reconnects to the instance that is
/// generating its reply follows it from here at once, without waiting for the next stored write (on any other instance it
/// follows the stored reply). Nothing here is needed for correctness; it is lost with the instance, as the generation is.
/// </summary>
public sealed class LiveReplies
{
    private readonly ConcurrentDictionary<string, LiveReply> _replies = new(StringComparer.Ordinal);

    internal LiveReply Start(string replyId) => _replies[replyId] = new LiveReply();

    internal void End(string replyId)
    {
        if (_replies.TryRemove(replyId, out var reply)) reply.End();
    }

    public LiveReply? Find(string replyId) => _replies.GetValueOrDefault(replyId);
}

/// <summary>A reply being generated on this instance: its text so far, and a signal for the next change.</summary>
public sealed class LiveReply
{
    private readonly StringBuilder _text = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _ended;

    /// <summary>The text so far, whether the reply has ended (its final record is stored), and a task that completes at the next change.</summary>
    public (string Text, bool Ended, Task Changed) Snapshot()
    {
        lock (_text) return (_text.ToString(), _ended, _changed.Task);
    }

    /// <summary>Characters of text so far.</summary>
    public int Length
    {
        get
        {
            lock (_text) return _text.Length;
        }
    }

    internal void Append(string text)
    {
        TaskCompletionSource changed;
        lock (_text)
        {
            _text.Append(text);
            (changed, _changed) = (_changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        }
        changed.SetResult();
    }

    internal void End()
    {
        lock (_text) _ended = true;
        _changed.TrySetResult();
    }
}
