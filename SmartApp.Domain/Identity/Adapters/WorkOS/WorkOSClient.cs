using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using SmartApp.Domain.Common.Errors;

using SmartApp.Domain.Common.Http;

namespace SmartApp.Domain.Identity.Adapters.WorkOS;

/// <summary>
/// The WorkOS User Management HTTP API (the .NET SDK is not used): code and refresh-token
/// exchange, and the JWKS that signs access tokens. Transient failures are retried by the
/// HttpClient's resilience pipeline; what still fails is an <see cref="UpstreamUnavailableException"/>.
/// </summary>
public sealed partial class WorkOSClient(HttpClient http, IOptions<WorkOSOptions> options, ILogger<WorkOSClient> logger) : IIdentityProvider
{
    public Task<ProviderSignIn> AuthenticateWithCodeAsync(string code, string? codeVerifier, CancellationToken cancellationToken) =>
        AuthenticateAsync(new Dictionary<string, string?>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["code_verifier"] = codeVerifier,
        }, cancellationToken);

    public Task<ProviderSignIn> RefreshAsync(string refreshToken, CancellationToken cancellationToken) =>
        AuthenticateAsync(new Dictionary<string, string?>
        {
            ["grant_type"] = "refresh_token",
            ["refresh_token"] = refreshToken,
        }, cancellationToken);

    public Uri GetAuthorizationUrl(string state, string codeChallenge)
    {
        var settings = options.Value;
        if (string.IsNullOrEmpty(settings.RedirectUri))
            throw new NotFoundException("Web sign-in is not configured (WorkOS:RedirectUri).");
        var query = new Dictionary<string, string>
        {
            ["client_id"] = settings.ClientId,
            ["redirect_uri"] = settings.RedirectUri,
            ["response_type"] = "code",
            ["provider"] = "authkit",
            ["state"] = state,
            ["code_challenge"] = codeChallenge,
            ["code_challenge_method"] = "S256",
        };
        return new Uri($"{settings.ApiBaseUrl.TrimEnd('/')}/user_management/authorize?{Query(query)}");
    }

    public Uri GetLogoutUrl(string sessionId, string? returnTo)
    {
        var query = new Dictionary<string, string> { ["session_id"] = sessionId };
        if (returnTo is not null) query["return_to"] = returnTo;
        return new Uri($"{options.Value.ApiBaseUrl.TrimEnd('/')}/user_management/sessions/logout?{Query(query)}");
    }

    public async Task RevokeSessionAsync(string sessionId, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.PostAsJsonAsync("user_management/sessions/revoke", new Dictionary<string, string> { ["session_id"] = sessionId }, cancellationToken).ConfigureAwait(false);
            // 404: the session is already gone, which is what was asked.
            if (!response.IsSuccessStatusCode && response.StatusCode != HttpStatusCode.NotFound)
                throw Unavailable($"session revoke answered {(int)response.StatusCode}", null);
        }
        catch (Exception ex) when (OutboundHttp.IsUnreachable(ex, cancellationToken))
        {
            throw Unavailable("session revoke did not answer", ex);
        }
    }

    private static string Query(Dictionary<string, string> values) =>
        string.Join('&', values.Select(v => $"{Uri.EscapeDataString(v.Key)}={Uri.EscapeDataString(v.Value)}"));

    /// <summary>The current signing keys (<c>GET /sso/jwks/{clientId}</c>).</summary>
    public async Task<IReadOnlyList<SecurityKey>> GetSigningKeysAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.GetAsync($"sso/jwks/{Uri.EscapeDataString(options.Value.ClientId)}", cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                throw Unavailable($"the key set answered {(int)response.StatusCode}", null);
            var json = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return new JsonWebKeySet(json).GetSigningKeys().ToList();
        }
        catch (Exception ex) when (OutboundHttp.IsUnreachable(ex, cancellationToken) || (ex is ArgumentException or JsonException && !cancellationToken.IsCancellationRequested))
        {
            throw Unavailable("the key set could not be read", ex);
        }
    }

    public Task<ProviderSignIn> AuthenticatePendingAsync(string pendingToken, string? emailCode, string? organizationId, CancellationToken cancellationToken) =>
        AuthenticateAsync(emailCode is not null
            ? new Dictionary<string, string?>
            {
                ["grant_type"] = "urn:workos:oauth:grant-type:email-verification:code", ["code"] = emailCode, ["pending_authentication_token"] = pendingToken,
            }
            : new Dictionary<string, string?>
            {
                ["grant_type"] = "urn:workos:oauth:grant-type:organization-selection", ["organization_id"] = organizationId, ["pending_authentication_token"] = pendingToken,
            }, cancellationToken);

    public async Task<(IReadOnlyList<IdentityEvent> Events, string? Cursor)> ListEventsAsync(string? after, CancellationToken cancellationToken)
    {
        var query = "events?events=user.updated&events=user.deleted&events=organization.deleted&limit=100&order=asc" + (after is null ? "" : "&after=" + Uri.EscapeDataString(after));
        HttpResponseMessage response;
        try
        {
            response = await http.GetAsync(query, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (OutboundHttp.IsUnreachable(ex, cancellationToken))
        {
            throw Unavailable("the events list did not answer", ex);
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode) throw Unavailable($"the events list answered {(int)response.StatusCode}", null);
            var list = await response.Content.ReadFromJsonAsync<EventList>(WireJson, cancellationToken).ConfigureAwait(false);
            var events = (list?.Data ?? []).Where(e => e.Id is { Length: > 0 } && e.Data?.Id is { Length: > 0 })
                .Select(e => new IdentityEvent(e.Id!, e.Event ?? "", e.Data!.Id, e.Data.Email,
                    e.Data.Name ?? (string.Join(' ', new[] { e.Data.FirstName, e.Data.LastName }.Where(n => !string.IsNullOrWhiteSpace(n))) is { Length: > 0 } full ? full : null)))
                .ToList();
            return (events, list?.ListMetadata?.After ?? events.LastOrDefault()?.Id ?? after);
        }
    }

    private sealed record EventList(List<WorkOSEvent>? Data, ListMetadata? ListMetadata);

    private sealed record ListMetadata(string? After);

    private sealed record WorkOSEvent(string? Id, string? Event, WorkOSUser? Data);

    /// <summary>AuthKit's authentication errors a client finishes with another step (the rest mean the credential is no good).</summary>
    private static readonly HashSet<string> PendingCodes = new(StringComparer.Ordinal)
    {
        "email_verification_required", "organization_selection_required", "mfa_enrollment", "mfa_challenge", "sso_required",
    };

    private async Task<ProviderSignIn> AuthenticateAsync(Dictionary<string, string?> grant, CancellationToken cancellationToken)
    {
        grant["client_id"] = options.Value.ClientId;
        grant["client_secret"] = options.Value.ApiKey;
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsJsonAsync("user_management/authenticate",
                grant.Where(g => g.Value is not null).ToDictionary(g => g.Key, g => g.Value), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (OutboundHttp.IsUnreachable(ex, cancellationToken))
        {
            throw Unavailable("authenticate did not answer", ex);
        }
        using (response)
        {
            if (response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden
                or HttpStatusCode.NotFound or HttpStatusCode.UnprocessableEntity)
            {
                var error = await ReadErrorAsync(response, cancellationToken).ConfigureAwait(false);
                LogRefused(logger, (int)response.StatusCode, error.Code);
                if (PendingCodes.Contains(error.Code))
                    throw new PendingAuthenticationException(error.Code, error.Message ?? "Sign-in needs one more step.", error.PendingToken, error.Email, error.Organizations);
                throw new UnauthorizedException("The sign-in code or refresh token is invalid, expired or already used.");
            }
            if (!response.IsSuccessStatusCode)
                throw Unavailable($"authenticate answered {(int)response.StatusCode}", null);
            var body = await response.Content.ReadFromJsonAsync<AuthenticateResponse>(WireJson, cancellationToken).ConfigureAwait(false);
            if (body?.User is not { Id.Length: > 0, Email.Length: > 0 } user || string.IsNullOrEmpty(body.AccessToken) || string.IsNullOrEmpty(body.RefreshToken))
                throw Unavailable("authenticate answered without a user or tokens", null);
            var name = user.Name ?? string.Join(' ', new[] { user.FirstName, user.LastName }.Where(n => !string.IsNullOrWhiteSpace(n)));
            return new ProviderSignIn(new UserSignIn(user.Id, user.Email, string.IsNullOrWhiteSpace(name) ? null : name, "workos"), body.AccessToken, body.RefreshToken);
        }
    }

    /// <summary>WorkOS's error body: <c>code</c> (or <c>error</c>), <c>message</c>, and for a pending sign-in its token, email and organizations.</summary>
    private static async Task<AuthenticationError> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var error = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken).ConfigureAwait(false);
            string? Text(JsonElement e, string name) => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            var organizations = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("organizations", out var list) && list.ValueKind == JsonValueKind.Array
                ? list.EnumerateArray().Where(o => Text(o, "id") is not null).Take(100).Select(o => (Text(o, "id")!, Text(o, "name") ?? "")).ToList()
                : [];
            var email = Text(error, "email") ?? (error.ValueKind == JsonValueKind.Object && error.TryGetProperty("user", out var user) ? Text(user, "email") : null);
            return new AuthenticationError(Text(error, "code") ?? Text(error, "error") ?? "unknown", Text(error, "message") ?? Text(error, "error_description"),
                Text(error, "pending_authentication_token"), email, organizations);
        }
        catch (JsonException)
        {
            return new AuthenticationError("unreadable", null, null, null, []);
        }
    }

    private sealed record AuthenticationError(string Code, string? Message, string? PendingToken, string? Email, IReadOnlyList<(string Id, string Name)> Organizations);

    private UpstreamUnavailableException Unavailable(string what, Exception? inner)
    {
        LogUnavailable(logger, inner, what);
        return new UpstreamUnavailableException("Sign-in is unavailable right now; try again shortly.", TimeSpan.FromSeconds(10), inner);
    }

    private static readonly JsonSerializerOptions WireJson = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private sealed record AuthenticateResponse(WorkOSUser? User, string? AccessToken, string? RefreshToken);

    private sealed record WorkOSUser(string Id, string Email, string? FirstName, string? LastName, string? Name);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "WorkOS refused a code or refresh token: {Status} {ErrorCode}")]
    private static partial void LogRefused(ILogger logger, int status, string errorCode);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "WorkOS is unavailable: {What}")]
    private static partial void LogUnavailable(ILogger logger, Exception? exception, string what);
}
