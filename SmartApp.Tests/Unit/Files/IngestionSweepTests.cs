using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Moq;
using SmartApp.Domain.Files;
using SmartApp.Domain.Files.Ingestion;

namespace SmartApp.Tests.Unit;

/// <summary>The sweep timer's part in ingestion: a file whose message was lost is queued again.</summary>
[Trait("Category", "Unit")]
public sealed class IngestionSweepTests
{
    [Fact]
    public async Task Files_queued_or_stalled_past_the_stall_timeout_have_their_message_sent_again()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
        var options = new FilesOptions { IngestionStallTimeout = TimeSpan.FromMinutes(2) };
        var store = new Mock<IFileStore>();
        DateTimeOffset? askedBefore = null;
        store.Setup(s => s.FindUnfinishedAsync(It.IsAny<DateTimeOffset>(), It.IsAny<CancellationToken>()))
            .Returns((DateTimeOffset before, CancellationToken _) => { askedBefore = before; return Files(("u1", "f1"), ("u2", "f2")); });
        var queue = new Mock<IIngestionQueue>();
        var work = new IngestionWork(Mock.Of<IServiceProvider>(), store.Object, queue.Object, Options.Create(options), clock, NullLogger<IngestionWork>.Instance);

        Assert.Equal(2, await work.ResendStalledAsync(CancellationToken.None));
        Assert.Equal(clock.GetUtcNow() - options.IngestionStallTimeout, askedBefore);
        queue.Verify(q => q.EnqueueAsync("u1", "f1", It.IsAny<CancellationToken>()), Times.Once);
        queue.Verify(q => q.EnqueueAsync("u2", "f2", It.IsAny<CancellationToken>()), Times.Once);
        queue.VerifyNoOtherCalls();
    }

    private static async IAsyncEnumerable<(string, string)> Files(params (string, string)[] files)
    {
        foreach (var file in files)
        {
            await Task.Yield();
            yield return file;
        }
    }
}
