using Moq;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Quotas;
using SmartApp.Domain.Files;
using SmartApp.Domain.Identity;

namespace SmartApp.Tests.Unit;

/// <summary>What an upload that fails after its bytes were stored leaves behind.</summary>
[Trait("Category", "Unit")]
public sealed class FileUploadCleanupTests
{
    private static readonly CurrentUser Alice = new("u-alice", "alice@example.com", "Alice", false);
    private readonly Mock<IFileStore> _files = new();
    private readonly Mock<IFileContentStore> _contents = new();
    private readonly Mock<IQuotaGate> _quotas = new();

    public FileUploadCleanupTests()
    {
        _files.Setup(f => f.TotalsAsync(Alice.UserId, It.IsAny<CancellationToken>())).ReturnsAsync((0, 0L));
        _contents.Setup(c => c.UploadAsync(Alice.UserId, It.IsAny<string>(), It.IsAny<Stream>(), "text/plain", It.IsAny<long>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(new UploadedContent(5, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", "hello"u8.ToArray()));
    }

    private FileService Service() => TestFileService.Create(_files.Object, _contents.Object, _quotas.Object, new FilesOptions(), TimeProvider.System);

    private Task UploadAsync() => Service().UploadAsync(Alice, null, "hello.txt", "text/plain", new MemoryStream("hello"u8.ToArray()), 5, default);

    [Fact]
    public async Task A_refused_upload_deletes_its_bytes()
    {
        _quotas.SetupSequence(q => q.EnsureWithinAsync(Alice.UserId, QuotaKind.StorageBytes, It.IsAny<long>(), It.IsAny<CancellationToken>()))
            .Returns(Task.CompletedTask)
            .ThrowsAsync(new QuotaExceededException("Storage is full.", paymentRequired: true));

        await Assert.ThrowsAsync<QuotaExceededException>(UploadAsync);

        _contents.Verify(c => c.DeleteAsync(Alice.UserId, It.IsAny<string>(), It.IsAny<CancellationToken>()), Times.Once);
        _files.Verify(f => f.CreateAsync(It.IsAny<string>(), It.IsAny<StoredFile>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [Fact]
    public async Task A_record_write_that_timed_out_keeps_the_bytes_it_may_refer_to()
    {
        _files.Setup(f => f.CreateAsync(Alice.UserId, It.IsAny<StoredFile>(), It.IsAny<CancellationToken>())).ThrowsAsync(new TimeoutException("storage did not answer"));

        await Assert.ThrowsAsync<TimeoutException>(UploadAsync);

        _contents.Verify(c => c.DeleteAsync(It.IsAny<string>(), It.IsAny<string>(), It.IsAny<CancellationToken>()), Times.Never);
    }
}
