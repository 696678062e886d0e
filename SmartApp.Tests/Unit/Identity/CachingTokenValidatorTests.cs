using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Time.Testing;
using Moq;
using SmartApp.Domain.Identity;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class CachingTokenValidatorTests
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UnixEpoch.AddYears(56));
    private readonly Mock<IAccessTokenValidator> _inner = new();

    private CachingTokenValidator Validator() => new(_inner.Object, new MemoryCache(new MemoryCacheOptions { SizeLimit = 100 }), _clock);

    [Fact]
    public async Task A_verified_token_is_verified_once_until_it_expires()
    {
        var user = new CurrentUser("u1", null, null, false) { ExpiresAt = _clock.GetUtcNow().AddMinutes(2) };
        _inner.Setup(v => v.ValidateAsync("t", It.IsAny<CancellationToken>())).ReturnsAsync(user);
        var validator = Validator();

        Assert.Equal(user, await validator.ValidateAsync("t", default));
        Assert.Equal(user, await validator.ValidateAsync("t", default));
        _inner.Verify(v => v.ValidateAsync("t", It.IsAny<CancellationToken>()), Times.Once);

        _clock.Advance(TimeSpan.FromMinutes(2));
        await validator.ValidateAsync("t", default);
        _inner.Verify(v => v.ValidateAsync("t", It.IsAny<CancellationToken>()), Times.Exactly(2));
    }

    [Fact]
    public async Task A_refused_token_is_asked_about_every_time()
    {
        _inner.Setup(v => v.ValidateAsync(It.IsAny<string>(), It.IsAny<CancellationToken>())).ReturnsAsync((CurrentUser?)null);
        var validator = Validator();
        Assert.Null(await validator.ValidateAsync("bad", default));
        Assert.Null(await validator.ValidateAsync("bad", default));
        _inner.Verify(v => v.ValidateAsync("bad", It.IsAny<CancellationToken>()), Times.Exactly(2));
    }
}
