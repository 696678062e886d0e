using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Moq;
using SmartApp.Domain.Identity;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class CachedUserRepositoryTests
{
    private static readonly User Ada = new("u1", "ada@example.com", "Ada", "free", "demo", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);
    private readonly Mock<IUserRepository> _store = new();
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = 10 });

    private CachedUserRepository Repository(TimeSpan duration) =>
        new(_store.Object, _cache, Options.Create(new AuthOptions { UserCacheDuration = duration }));

    [Fact]
    public async Task A_user_read_twice_is_fetched_once()
    {
        _store.Setup(s => s.FindAsync("u1", It.IsAny<CancellationToken>())).ReturnsAsync(Ada);
        var repository = Repository(TimeSpan.FromSeconds(15));
        Assert.Equal(Ada, await repository.FindAsync("u1", default));
        Assert.Equal(Ada, await repository.FindAsync("u1", default));
        _store.Verify(s => s.FindAsync("u1", It.IsAny<CancellationToken>()), Times.Once);
    }

    [Fact]
    public async Task A_write_replaces_the_cached_record_at_once()
    {
        _store.Setup(s => s.FindAsync("u1", It.IsAny<CancellationToken>())).ReturnsAsync(Ada);
        _store.Setup(s => s.UpsertFromSignInAsync(It.IsAny<UserSignIn>(), It.IsAny<CancellationToken>())).ReturnsAsync(Ada with { Name = "Countess" });
        var repository = Repository(TimeSpan.FromSeconds(15));
        await repository.FindAsync("u1", default);
        await repository.UpsertFromSignInAsync(new UserSignIn("u1", Ada.Email, "Countess", "demo"), default);
        Assert.Equal("Countess", (await repository.FindAsync("u1", default))!.Name);
    }

    [Fact]
    public async Task Missing_users_are_not_cached_and_a_zero_duration_turns_caching_off()
    {
        _store.Setup(s => s.FindAsync(It.IsAny<string>(), It.IsAny<CancellationToken>())).ReturnsAsync((string id, CancellationToken _) => id == "u1" ? Ada : null);
        var repository = Repository(TimeSpan.Zero);
        await repository.FindAsync("u1", default);
        await repository.FindAsync("u1", default);
        await repository.FindAsync("nobody", default);
        await repository.FindAsync("nobody", default);
        _store.Verify(s => s.FindAsync(It.IsAny<string>(), It.IsAny<CancellationToken>()), Times.Exactly(4));
    }
}
