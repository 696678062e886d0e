using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;
using Moq;
using SmartApp.Domain.Identity;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class DemoTokenServiceTests
{
    private static readonly User Ada = new("demo_ada", "ada@example.com", "Ada", "free", "demo", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private readonly AuthOptions _options = new() { AdminEmails = ["boss@example.com"] };

    private DemoTokenService Service(SecurityKey key)
    {
        var keys = new Mock<ISigningKeyStore>();
        keys.Setup(k => k.GetSigningKeyAsync(It.IsAny<CancellationToken>())).ReturnsAsync(key);
        return new DemoTokenService(keys.Object, Options.Create(_options), _clock, NullLogger<DemoTokenService>.Instance);
    }

    private static RsaSecurityKey NewKey() => new(RSA.Create(2048)) { KeyId = Guid.NewGuid().ToString("N") };

    [Fact]
    public async Task An_issued_token_validates_as_its_user()
    {
        var service = Service(NewKey());
        var token = await service.IssueAsync(Ada, default);
        Assert.Equal(_clock.GetUtcNow() + _options.AccessTokenLifetime, token.ExpiresAt);

        var user = await service.ValidateAsync(token.AccessToken, default);
        Assert.Equal(new CurrentUser("demo_ada", "ada@example.com", "Ada", IsAdmin: false) { ExpiresAt = token.ExpiresAt, SessionId = user!.SessionId }, user with { Roles = [], Permissions = [] });
        Assert.Empty(user.Roles);
        Assert.Empty(user.Permissions);
        Assert.StartsWith("demo_session_", user.SessionId);
    }

    [Fact]
    public async Task A_token_issued_for_a_membership_validates_with_its_organization_role_and_permissions()
    {
        var service = Service(NewKey());
        var token = await service.IssueAsync(Ada, default, new DemoMembership("org_acme", "editor", ["files:write", "data:write"]));
        var user = await service.ValidateAsync(token.AccessToken, default);
        Assert.Equal(("org_acme", "editor"), (user!.OrganizationId, user.Role));
        Assert.Equal(["editor"], user.Roles);
        Assert.Equal(["files:write", "data:write"], user.Permissions);
    }

    [Fact]
    public async Task A_token_is_accepted_within_the_clock_skew_and_refused_after_it()
    {
        var service = Service(NewKey());
        var token = await service.IssueAsync(Ada, default);
        _clock.Advance(_options.AccessTokenLifetime + TimeSpan.FromSeconds(59));
        Assert.NotNull(await service.ValidateAsync(token.AccessToken, default));
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Null(await service.ValidateAsync(token.AccessToken, default));
    }

    [Fact]
    public async Task A_token_from_another_key_is_refused()
    {
        var token = await Service(NewKey()).IssueAsync(Ada, default);
        Assert.Null(await Service(NewKey()).ValidateAsync(token.AccessToken, default));
    }

    [Fact]
    public async Task A_token_for_another_audience_is_refused()
    {
        var key = NewKey();
        var token = await Service(key).IssueAsync(Ada, default);
        _options.Audience = "another-app";
        Assert.Null(await Service(key).ValidateAsync(token.AccessToken, default));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not.a.jwt")]
    [InlineData("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJkZW1vX2FkYSJ9.")]
    public async Task Malformed_and_unsigned_tokens_are_refused(string token) =>
        Assert.Null(await Service(NewKey()).ValidateAsync(token, default));

    [Fact]
    public async Task Admins_are_named_by_email_case_insensitively()
    {
        var service = Service(NewKey());
        var token = await service.IssueAsync(Ada with { Email = "Boss@Example.com" }, default);
        Assert.True((await service.ValidateAsync(token.AccessToken, default))!.IsAdmin);
    }
}
