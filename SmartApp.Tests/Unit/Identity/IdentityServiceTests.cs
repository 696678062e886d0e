using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Moq;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Identity;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class IdentityServiceTests
{
    private readonly Mock<IUserRepository> _users = new();

    private readonly Mock<IIdentityProvider> _provider = new();

    private IdentityService Service(bool workOS = false)
    {
        var keys = new Mock<ISigningKeyStore>();
        keys.Setup(k => k.GetSigningKeyAsync(It.IsAny<CancellationToken>())).ReturnsAsync(new RsaSecurityKey(RSA.Create(2048)));
        _users.Setup(u => u.UpsertFromSignInAsync(It.IsAny<UserSignIn>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync((UserSignIn s, CancellationToken _) => new User(s.UserId, s.Email, s.Name, "free", s.Provider, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch));
        var tokens = new DemoTokenService(keys.Object, Options.Create(new AuthOptions()), TimeProvider.System, NullLogger<DemoTokenService>.Instance);
        return new IdentityService(_users.Object, tokens, tokens,
            new SessionRevocations(TimeProvider.System),
            new AllowedOrigins(Options.Create(new AuthOptions { AllowedOrigins = ["https://app.example.com"] })),
            Options.Create(new AuthOptions { AllowedOrigins = ["https://app.example.com"] }), workOS ? _provider.Object : new NoIdentityProvider());
    }

    [Theory]
    [InlineData("state-from-elsewhere", "code_1", "state")]
    [InlineData("", "code_1", "state")]
    [InlineData("state-kept", null, "code")]
    public async Task A_web_callback_whose_state_is_not_the_one_kept_or_that_has_no_code_is_refused_before_workos_is_asked(string state, string? code, string field)
    {
        var error = await Assert.ThrowsAsync<ValidationFailedException>(() => Service(workOS: true).CompleteWebSignInAsync("state-kept", "verifier", state, code, default));
        Assert.Contains(field, error.Errors.Keys);
        _provider.VerifyNoOtherCalls();
    }

    [Fact]
    public async Task A_web_callback_with_the_kept_state_exchanges_its_code_with_the_kept_verifier()
    {
        var verifier = new string('v', 43); // RFC 7636: 43 to 128 characters
        var token = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Expires = DateTime.UtcNow.AddMinutes(5), SigningCredentials = new SigningCredentials(new RsaSecurityKey(RSA.Create(2048)), SecurityAlgorithms.RsaSha256),
        });
        _provider.Setup(p => p.AuthenticateWithCodeAsync("code_1", verifier, It.IsAny<CancellationToken>()))
            .ReturnsAsync(new ProviderSignIn(new UserSignIn("user_1", "ada@example.com", "Ada", "workos"), token, "refresh_1"));
        var result = await Service(workOS: true).CompleteWebSignInAsync("state-kept", verifier, "state-kept", "code_1", default);
        Assert.Equal("user_1", result.User.Id);
        Assert.Equal("refresh_1", result.RefreshToken);
    }

    [Fact]
    public async Task Demo_sign_in_without_details_uses_the_default_demo_user()
    {
        var result = await Service().SignInDemoAsync(null, "  ", default);
        Assert.Equal(IdentityService.DefaultDemoEmail, result.User.Email);
        Assert.Equal(IdentityService.DefaultDemoName, result.User.Name);
        Assert.Equal("Bearer", result.TokenType);
        Assert.NotEmpty(result.AccessToken);
    }

    [Fact]
    public void The_same_email_in_any_case_is_the_same_demo_user()
    {
        Assert.Equal(IdentityService.DemoUserId("Ada@Example.com"), IdentityService.DemoUserId("ada@example.com"));
        Assert.NotEqual(IdentityService.DemoUserId("ada@example.com"), IdentityService.DemoUserId("bob@example.com"));
        Assert.Matches("^demo_[0-9a-f]{24}$", IdentityService.DemoUserId("ada@example.com"));
    }

    [Theory]
    [InlineData("not-an-email", null, "email")]
    [InlineData("Ada <ada@example.com>", null, "email")]
    [InlineData("ada@example.com", "bad\u0001name", "name")]
    public async Task Bad_details_are_refused_naming_the_field_and_nothing_is_written(string email, string? name, string field)
    {
        var error = await Assert.ThrowsAsync<ValidationFailedException>(() => Service().SignInDemoAsync(email, name, default));
        Assert.Contains(field, error.Errors.Keys);
        _users.Verify(u => u.UpsertFromSignInAsync(It.IsAny<UserSignIn>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [Fact]
    public async Task A_name_over_100_characters_is_refused() =>
        await Assert.ThrowsAsync<ValidationFailedException>(() => Service().SignInDemoAsync("ada@example.com", new string('a', 101), default));

    [Theory]
    [InlineData("/dashboard", true)]
    [InlineData("https://app.example.com/welcome?x=1", true)]
    [InlineData("https://APP.example.com", true)]
    [InlineData("//evil.example/path", false)]
    [InlineData("/\\evil.example", false)]
    [InlineData("https://evil.example/", false)]
    [InlineData("https://app.example.com.evil.example/", false)]
    [InlineData("javascript:alert(1)", false)]
    [InlineData("http://app.example.com/", false)]
    public void Only_paths_and_allowed_origins_are_places_to_return_to(string returnTo, bool allowed) =>
        Assert.Equal(allowed, Service().IsAllowedReturn(returnTo));

    [Fact]
    public async Task A_token_for_an_account_that_no_longer_exists_is_refused()
    {
        var service = Service();
        var signIn = await service.SignInDemoAsync("ada@example.com", null, default);
        _users.Setup(u => u.FindAsync(signIn.User.Id, It.IsAny<CancellationToken>())).ReturnsAsync(signIn.User);
        Assert.Equal(signIn.User.Id, (await service.AuthenticateAsync(signIn.AccessToken, default)).UserId);

        _users.Setup(u => u.FindAsync(signIn.User.Id, It.IsAny<CancellationToken>())).ReturnsAsync((User?)null);
        await Assert.ThrowsAsync<UnauthorizedException>(() => service.AuthenticateAsync(signIn.AccessToken, default));
    }

    [Fact]
    public async Task A_signed_out_session_is_refused()
    {
        var service = Service();
        var signIn = await service.SignInDemoAsync("ada@example.com", null, default);
        _users.Setup(u => u.FindAsync(signIn.User.Id, It.IsAny<CancellationToken>())).ReturnsAsync(signIn.User);
        var caller = await service.AuthenticateAsync(signIn.AccessToken, default);
        await service.SignOutAsync(caller, null, default);
        await Assert.ThrowsAsync<UnauthorizedException>(() => service.AuthenticateAsync(signIn.AccessToken, default));
    }

    [Fact]
    public async Task A_user_that_no_longer_exists_is_not_found()
    {
        var service = Service();
        _users.Setup(u => u.FindAsync("gone", It.IsAny<CancellationToken>())).ReturnsAsync((User?)null);
        await Assert.ThrowsAsync<NotFoundException>(() => service.GetUserAsync(new CurrentUser("gone", null, null, false), default));
    }
}
