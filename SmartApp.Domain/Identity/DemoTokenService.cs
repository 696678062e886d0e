using System.Security.Claims;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace SmartApp.Domain.Identity;

/// <summary>Issues and verifies demo access tokens: RS256 JWTs signed with the app's own key.</summary>
public sealed partial class DemoTokenService(
    ISigningKeyStore keys, IOptions<AuthOptions> options, TimeProvider clock, ILogger<DemoTokenService> logger) : IAccessTokenValidator
{
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false, MapInboundClaims = false };

    /// <summary>A token for the user; with a membership, it carries the organization, role and permissions as WorkOS's do (<c>org_id</c>, <c>role</c>, <c>roles</c>, <c>permissions</c>).</summary>
    public async Task<IssuedToken> IssueAsync(User user, CancellationToken cancellationToken, DemoMembership? membership = null)
    {
        var key = await keys.GetSigningKeyAsync(cancellationToken).ConfigureAwait(false);
        var now = clock.GetUtcNow();
        var expires = now + options.Value.AccessTokenLifetime;
        var claims = new Dictionary<string, object>
        {
            [JwtRegisteredClaimNames.Sub] = user.Id,
            [JwtRegisteredClaimNames.Email] = user.Email,
            [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
            ["sid"] = "demo_session_" + Guid.NewGuid().ToString("N"),
        };
        if (user.Name is { Length: > 0 } name) claims[JwtRegisteredClaimNames.Name] = name;
        if (membership is not null)
        {
            claims["org_id"] = membership.OrganizationId;
            claims["role"] = membership.Role;
            claims["roles"] = new[] { membership.Role };
            claims["permissions"] = membership.Permissions.ToArray();
        }
        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = options.Value.DemoIssuer,
            Audience = options.Value.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            Claims = claims,
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
        });
        return new IssuedToken(token, DateTimeOffset.FromUnixTimeSeconds(expires.ToUnixTimeSeconds()));
    }

    public async Task<CurrentUser?> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        var key = await keys.GetSigningKeyAsync(cancellationToken).ConfigureAwait(false);
        var settings = options.Value;
        var result = await _handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = settings.DemoIssuer,
            ValidAudience = settings.Audience,
            IssuerSigningKey = key,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ClockSkew = settings.ClockSkew,
            LifetimeValidator = (notBefore, expires, _, parameters) => IsWithinLifetime(notBefore, expires, parameters.ClockSkew),
        }).ConfigureAwait(false);
        if (!result.IsValid)
        {
            LogRejected(logger, result.Exception?.GetType().Name ?? "invalid");
            return null;
        }
        var sub = result.Claims.TryGetValue(JwtRegisteredClaimNames.Sub, out var s) ? s as string : null;
        if (string.IsNullOrEmpty(sub)) return null;
        var email = result.Claims.TryGetValue(JwtRegisteredClaimNames.Email, out var e) ? e as string : null;
        var name = result.Claims.TryGetValue(JwtRegisteredClaimNames.Name, out var n) ? n as string : null;
        var sessionId = result.Claims.TryGetValue("sid", out var sid) ? sid as string : null;
        return new CurrentUser(sub, email, name, settings.IsAdmin(email)) { SessionId = sessionId, ExpiresAt = new DateTimeOffset(result.SecurityToken.ValidTo, TimeSpan.Zero) }
            .WithMembership((JsonWebToken)result.SecurityToken);
    }

    // Lifetime is checked against the injected clock, not the machine's, so it is testable.
    private bool IsWithinLifetime(DateTime? notBefore, DateTime? expires, TimeSpan skew)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        return expires is { } exp && now <= exp + skew && (notBefore is not { } nbf || now >= nbf - skew);
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Rejected a demo token: {Reason}")]
    private static partial void LogRejected(ILogger logger, string reason);
}
