namespace SmartApp.Domain.Common;

/// <summary>
/// A value made once it can be made: callers share one attempt in flight, a failed or cancelled
/// attempt is forgotten so the next caller tries again, and a finished one costs nothing.
/// Used for what depends on storage being up (containers, signing keys).
/// </summary>
public sealed class RetryingLazy<T>(Func<Task<T>> create)
{
    private readonly Lock _gate = new();
    private Task<T>? _attempt;

    public Task<T> GetAsync(CancellationToken cancellationToken)
    {
        var attempt = Volatile.Read(ref _attempt);
        if (attempt is null || attempt.IsFaulted || attempt.IsCanceled)
        {
            lock (_gate)
            {
                if (_attempt is null || _attempt.IsFaulted || _attempt.IsCanceled)
                    _attempt = Task.Run(create, CancellationToken.None);
                attempt = _attempt;
            }
        }
        return attempt.IsCompletedSuccessfully ? attempt : attempt.WaitAsync(cancellationToken);
    }
}
