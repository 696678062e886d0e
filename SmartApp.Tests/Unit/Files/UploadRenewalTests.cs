using Microsoft.Extensions.Time.Testing;
using Moq;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Quotas;
using SmartApp.Domain.Files;
using SmartApp.Domain.Identity;

namespace SmartApp.Tests.Unit;

/// <summary>New URLs for a direct upload under way: how long they last, when there are no more, and what the sweep then keeps.</summary>
[Trait("Category", "Unit")]
public sealed class UploadRenewalTests
{
    private static readonly CurrentUser Alice = new("u-alice", "alice@example.com", "Alice", false);
    private static readonly FilesOptions Options = new() { SignedUrlLifetime = TimeSpan.FromMinutes(15), UploadCompletionGrace = TimeSpan.FromMinutes(15), MaxUploadDuration = TimeSpan.FromDays(1) };
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly Mock<IFileStore> _files = new();
    private readonly Mock<IFileContentStore> _contents = new();

    public UploadRenewalTests()
    {
        _contents.Setup(c => c.CreateUploadUrlAsync(Alice.UserId, It.IsAny<string>(), It.IsAny<TimeSpan>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync((string _, string id, TimeSpan lifetime, CancellationToken _) => new SignedUrl(new Uri($"https://blob.test/{id}?se=x"), _clock.GetUtcNow() + lifetime));
        _files.Setup(f => f.TryUpdateAsync(Alice.UserId, It.IsAny<StoredFile>(), It.IsAny<CancellationToken>())).ReturnsAsync((string _, StoredFile file, CancellationToken _) => file);
    }

    private FileService Service() => TestFileService.Create(_files.Object, _contents.Object, Mock.Of<IQuotaGate>(), Options, _clock);

    /// <summary>A file id of the shape the app makes (others are 404 before any lookup).</summary>
    private static string Id(string name) => "file_" + Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(name)));

    private StoredFile Upload(string id, TimeSpan age, FileStatus status = FileStatus.Uploading, DateTimeOffset? uploadUntil = null)
    {
        var file = new StoredFile(id, "big.bin", "application/octet-stream", 1000, _clock.GetUtcNow() - age) { Status = status, UploadUntil = uploadUntil };
        _files.Setup(f => f.FindAsync(Alice.UserId, id, It.IsAny<CancellationToken>())).ReturnsAsync(file);
        return file;
    }

    [Fact]
    public async Task A_renewed_url_lasts_the_usual_lifetime_and_the_record_remembers_until_when()
    {
        Upload(Id("f1"), TimeSpan.FromMinutes(40));
        var (file, url) = await Service().RenewUploadAsync(Alice, Id("f1"), default);
        Assert.Equal(_clock.GetUtcNow() + Options.SignedUrlLifetime, url.ExpiresAt);
        Assert.Equal(url.ExpiresAt, file.UploadUntil);
        _files.Verify(f => f.TryUpdateAsync(Alice.UserId, It.Is<StoredFile>(s => s.UploadUntil == url.ExpiresAt), It.IsAny<CancellationToken>()), Times.Once);
    }

    [Fact]
    public async Task Near_the_longest_an_upload_may_take_the_url_ends_with_it_and_past_it_there_is_none()
    {
        Upload(Id("f1"), Options.MaxUploadDuration - TimeSpan.FromMinutes(5));
        var (_, url) = await Service().RenewUploadAsync(Alice, Id("f1"), default);
        Assert.Equal(_clock.GetUtcNow() + TimeSpan.FromMinutes(5), url.ExpiresAt);

        Upload(Id("f2"), Options.MaxUploadDuration + TimeSpan.FromSeconds(1));
        var refused = await Assert.ThrowsAsync<ConflictException>(() => Service().RenewUploadAsync(Alice, Id("f2"), default));
        Assert.Contains("begin a new one", refused.Message);
        _contents.Verify(c => c.CreateUploadUrlAsync(Alice.UserId, Id("f2"), It.IsAny<TimeSpan>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [Fact]
    public async Task A_completed_upload_gets_no_new_url()
    {
        Upload(Id("f1"), TimeSpan.FromMinutes(1), FileStatus.Queued);
        await Assert.ThrowsAsync<ConflictException>(() => Service().RenewUploadAsync(Alice, Id("f1"), default));
        _contents.Verify(c => c.CreateUploadUrlAsync(It.IsAny<string>(), It.IsAny<string>(), It.IsAny<TimeSpan>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [Fact]
    public async Task The_sweep_counts_from_the_last_url_so_a_renewed_upload_stays_and_an_abandoned_one_goes()
    {
        Upload(Id("renewed"), TimeSpan.FromHours(3), uploadUntil: _clock.GetUtcNow() + TimeSpan.FromMinutes(10));
        Upload(Id("lapsed"), TimeSpan.FromHours(3), uploadUntil: _clock.GetUtcNow() - Options.UploadCompletionGrace - TimeSpan.FromMinutes(1));
        Upload(Id("abandoned"), TimeSpan.FromHours(3));
        _files.Setup(f => f.FindAbandonedUploadsAsync(It.IsAny<DateTimeOffset>(), It.IsAny<CancellationToken>()))
            .Returns(new[] { (Alice.UserId, Id("renewed")), (Alice.UserId, Id("lapsed")), (Alice.UserId, Id("abandoned")) }.ToAsyncEnumerable());

        Assert.Equal(2, await Service().SweepAbandonedUploadsAsync(default));

        _files.Verify(f => f.DeleteAsync(Alice.UserId, Id("renewed"), It.IsAny<CancellationToken>()), Times.Never);
        _files.Verify(f => f.DeleteAsync(Alice.UserId, Id("lapsed"), It.IsAny<CancellationToken>()), Times.Once);
        _files.Verify(f => f.DeleteAsync(Alice.UserId, Id("abandoned"), It.IsAny<CancellationToken>()), Times.Once);
    }
}
