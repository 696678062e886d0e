using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace SmartApp.Domain.Identity.Adapters.WorkOS;

/// <summary>
/// Verifies WorkOS access tokens: RS256 only, signed by a key from the client's JWKS (cached, and
/// fetched again once when a token names a key id the cache does not know), <c>exp</c>/<c>nbf</c>
/// within the clock skew, <c>iss</c> from the configured list, <c>sub</c> present.
/// </summary>
public sealed partial class WorkOSTokenValidator(
    WorkOSClient workOS, IOptions<WorkOSOptions> options, IOptions<AuthOptions> auth, TimeProvider clock, ILogger<WorkOSTokenValidator> logger)
    : IAccessTokenValidator
{
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly SemaphoreSlim _fetch = new(1, 1);
    private volatile KeySet? _keys;

    public async Task<CurrentUser?> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        var keys = await GetKeysAsync(forceRefresh: false, cancellationToken).ConfigureAwait(false);
        if (KeyIdOf(token) is { } kid && !keys.Keys.Any(k => k.KeyId == kid)
            && clock.GetUtcNow() - keys.FetchedAt >= options.Value.JwksRefetchCooldown)
        {
            // A key id we do not know: WorkOS may have rotated its keys. Fetch them once more.
            keys = await GetKeysAsync(forceRefresh: true, cancellationToken).ConfigureAwait(false);
        }
        var result = await ValidateWithAsync(token, keys.Keys).ConfigureAwait(false);
        if (!result.IsValid)
        {
            LogRejected(logger, result.Exception?.GetType().Name ?? "invalid");
            return null;
        }
        var sub = result.Claims.TryGetValue(JwtRegisteredClaimNames.Sub, out var s) ? s as string : null;
        // An organization id is never a user: the two share the stores' partition keys.
        if (string.IsNullOrWhiteSpace(sub) || SpaceAccess.IsOrganizationId(sub))
        {
            LogRejected(logger, "no user sub");
            return null;
        }
        // WorkOS access tokens carry no email; admin rights come from the user record's email where needed.
        var email = result.Claims.TryGetValue(JwtRegisteredClaimNames.Email, out var e) ? e as string : null;
        var sessionId = result.Claims.TryGetValue("sid", out var sid) ? sid as string : null;
        var jwt = (JsonWebToken)result.SecurityToken;
        return new CurrentUser(sub, email, null, auth.Value.IsAdmin(email))
        {
            SessionId = sessionId, ExpiresAt = new DateTimeOffset(result.SecurityToken.ValidTo, TimeSpan.Zero), Impersonator = Impersonator(jwt),
        }.WithMembership(jwt);
    }

    /// <summary>The impersonator: the <c>act</c> claim's <c>sub</c> (RFC 8693), which WorkOS sets to the admin's email.</summary>
    private static string? Impersonator(JsonWebToken jwt)
    {
        if (!jwt.TryGetPayloadValue<System.Text.Json.JsonElement>("act", out var act) || act.ValueKind != System.Text.Json.JsonValueKind.Object) return null;
        return act.TryGetProperty("sub", out var actor) && actor.ValueKind == System.Text.Json.JsonValueKind.String && actor.GetString() is { Length: > 0 } who ? who : null;
    }

    private static string? KeyIdOf(string token)
    {
        try
        {
            return new JsonWebToken(token).Kid;
        }
        catch (ArgumentException)
        {
            return null; // malformed: validation refuses it
        }
    }

    private Task<TokenValidationResult> ValidateWithAsync(string token, IReadOnlyList<SecurityKey> keys) =>
        _handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuers = options.Value.EffectiveIssuers,
            ValidateAudience = false, // WorkOS access tokens are issued for the client, without an audience
            IssuerSigningKeys = keys,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ClockSkew = auth.Value.ClockSkew,
            LifetimeValidator = (notBefore, expires, _, parameters) =>
            {
                var now = clock.GetUtcNow().UtcDateTime;
                return expires is { } exp && now <= exp + parameters.ClockSkew && (notBefore is not { } nbf || now >= nbf - parameters.ClockSkew);
            },
        });

    private async Task<KeySet> GetKeysAsync(bool forceRefresh, CancellationToken cancellationToken)
    {
        var current = _keys;
        if (!forceRefresh && current is not null && clock.GetUtcNow() - current.FetchedAt < options.Value.JwksCacheDuration)
            return current;
        await _fetch.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Another caller may have fetched while this one waited.
            if (_keys is { } fresh && !ReferenceEquals(fresh, current) && clock.GetUtcNow() - fresh.FetchedAt < options.Value.JwksCacheDuration)
                return fresh;
            var keys = await workOS.GetSigningKeysAsync(cancellationToken).ConfigureAwait(false);
            LogFetched(logger, keys.Count);
            return _keys = new KeySet(keys, clock.GetUtcNow());
        }
        finally
        {
            _fetch.Release();
        }
    }

    private sealed record KeySet(IReadOnlyList<SecurityKey> Keys, DateTimeOffset FetchedAt);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Information, Message = "Rejected a WorkOS token: {Reason}")]
    private static partial void LogRejected(ILogger logger, string reason);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Information, Message = "Fetched {Count} WorkOS signing keys")]
    private static partial void LogFetched(ILogger logger, int count);
}
