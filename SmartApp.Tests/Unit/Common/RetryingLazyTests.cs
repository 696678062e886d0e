using SmartApp.Domain.Common;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class RetryingLazyTests
{
    [Fact]
    public async Task A_failed_attempt_is_retried_by_the_next_caller_and_a_success_is_kept()
    {
        var calls = 0;
        var lazy = new RetryingLazy<int>(() => ++calls == 1 ? throw new IOException("storage down") : Task.FromResult(calls));
        await Assert.ThrowsAsync<IOException>(() => lazy.GetAsync(default));
        Assert.Equal(2, await lazy.GetAsync(default));
        Assert.Equal(2, await lazy.GetAsync(default));
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task Concurrent_callers_share_one_attempt()
    {
        var calls = 0;
        var gate = new TaskCompletionSource();
        var lazy = new RetryingLazy<string>(async () => { Interlocked.Increment(ref calls); await gate.Task; return "made"; });
        var waiting = Enumerable.Range(0, 8).Select(_ => lazy.GetAsync(default)).ToArray();
        gate.SetResult();
        Assert.All(await Task.WhenAll(waiting), v => Assert.Equal("made", v));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task A_caller_can_stop_waiting_without_spoiling_the_attempt()
    {
        var gate = new TaskCompletionSource();
        var lazy = new RetryingLazy<int>(async () => { await gate.Task; return 7; });
        using var cancelled = new CancellationTokenSource();
        var impatient = lazy.GetAsync(cancelled.Token);
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => impatient);
        gate.SetResult();
        Assert.Equal(7, await lazy.GetAsync(default));
    }
}
