using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace SmartApp.Fakes;

/// <summary>A person as WorkOS knows them.</summary>
public sealed record FakeWorkOSUser(string Id, string Email, string FirstName, string LastName);

/// <summary>
/// WorkOS User Management on 127.0.0.1, speaking its wire format: <c>POST /user_management/authenticate</c>
/// (authorization_code with PKCE, single-use codes; refresh_token, single use and rotated) and
/// <c>GET /sso/jwks/{clientId}</c>, with access tokens signed RS256 by a key it can rotate.
/// </summary>
public sealed class FakeWorkOS : IAsyncDisposable
{
    public const string ClientId = "client_e2e";
    public const string ApiKey = "sk_test_e2e_secret";

    private readonly ConcurrentDictionary<string, (FakeWorkOSUser User, string? Challenge)> _codes = new();
    private readonly ConcurrentDictionary<string, (FakeWorkOSUser User, string SessionId)> _refreshTokens = new();
    private readonly ConcurrentDictionary<string, bool> _revokedSessions = new();
    private WebApplication? _app;
    private int _jwksFetches;

    public RsaSecurityKey SigningKey { get; private set; } = NewKey();
    public string BaseUrl { get; private set; } = "";
    public string Issuer => $"{BaseUrl}/user_management/{ClientId}";
    public int JwksFetches => Volatile.Read(ref _jwksFetches);

    public static async Task<FakeWorkOS> StartAsync()
    {
        var fake = new FakeWorkOS();
        var (app, baseUrl) = await LoopbackServer.StartAsync(routes =>
        {
            routes.MapGet("/sso/jwks/{clientId}", (string clientId) => fake.Jwks(clientId));
            routes.MapPost("/user_management/authenticate", (HttpRequest request) => fake.AuthenticateAsync(request));
            routes.MapGet("/events", (HttpRequest request) => fake.ListEvents(request));
            routes.MapGet("/user_management/authorize", (HttpRequest request) => fake.Authorize(request));
            routes.MapPost("/user_management/sessions/revoke", (HttpRequest request) => fake.RevokeAsync(request));
        });
        fake._app = app;
        fake.BaseUrl = baseUrl;
        return fake;
    }

    /// <summary>Who signs in when a browser reaches the authorize page (AuthKit's hosted UI, signed in at once).</summary>
    public FakeWorkOSUser? NextBrowserUser { get; set; }

    public bool IsRevoked(string sessionId) => _revokedSessions.ContainsKey(sessionId);

    /// <summary>An authorization code for the user, as the AuthKit callback would deliver it.</summary>
    public string IssueCode(FakeWorkOSUser user, string? codeChallenge = null)
    {
        var code = "code_" + Guid.NewGuid().ToString("N");
        _codes[code] = (user, codeChallenge);
        return code;
    }

    /// <summary>Rotates the signing key (a new key id); tokens signed by the old key stop verifying after a refetch.</summary>
    public void RotateKey() => SigningKey = NewKey();

    /// <summary>Users who must verify their email before AuthKit signs them in, with the code it emailed them.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, string> EmailVerificationCodes { get; } = new(StringComparer.Ordinal);

    /// <summary>Users who belong to several organizations and must choose one to sign in to.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, (string Id, string Name)[]> OrganizationChoices { get; } = new(StringComparer.Ordinal);

    /// <summary>A user's role and permissions in an organization, keyed <c>{userId}:{organizationId}</c>; a member with none when not set (as WorkOS's default role).</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, (string Role, string[] Permissions)> Memberships { get; } = new(StringComparer.Ordinal);

    /// <summary>What an access token for a session in an organization says of the membership: <c>org_id</c>, <c>role</c>, <c>roles</c>, <c>permissions</c>.</summary>
    private Dictionary<string, object> MembershipClaims(string userId, string organizationId)
    {
        var (role, permissions) = Memberships.TryGetValue($"{userId}:{organizationId}", out var membership) ? membership : ("member", []);
        return new Dictionary<string, object> { ["org_id"] = organizationId, ["role"] = role, ["roles"] = new[] { role }, ["permissions"] = permissions };
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, FakeWorkOSUser> _pending = new(StringComparer.Ordinal);

    public string MintAccessToken(string? sub, DateTime? expires = null, string? issuer = null, SecurityKey? key = null, string algorithm = SecurityAlgorithms.RsaSha256, string? sessionId = null,
        IReadOnlyDictionary<string, object>? extraClaims = null)
    {
        var now = DateTime.UtcNow;
        var claims = new Dictionary<string, object> { ["sid"] = sessionId ?? "session_" + Guid.NewGuid().ToString("N"), ["jti"] = Guid.NewGuid().ToString("N") };
        if (sub is not null) claims["sub"] = sub;
        foreach (var (name, value) in extraClaims ?? new Dictionary<string, object>()) claims[name] = value;
        var exp = expires ?? now.AddMinutes(5);
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            IssuedAt = exp.AddMinutes(-10) < now ? exp.AddMinutes(-10) : now,
            Expires = exp,
            Claims = claims,
            SigningCredentials = new SigningCredentials(key ?? SigningKey, algorithm),
        });
    }

    private IResult Jwks(string clientId)
    {
        if (clientId != ClientId) return Results.NotFound();
        Interlocked.Increment(ref _jwksFetches);
        var parameters = SigningKey.Rsa.ExportParameters(false);
        return Results.Json(new
        {
            keys = new[]
            {
                new { alg = "RS256", kty = "RSA", use = "sig", kid = SigningKey.KeyId, n = Base64UrlEncoder.Encode(parameters.Modulus), e = Base64UrlEncoder.Encode(parameters.Exponent) },
            },
        });
    }

    private async Task<IResult> AuthenticateAsync(HttpRequest request)
    {
        var body = await JsonSerializer.DeserializeAsync<Dictionary<string, string>>(request.Body) ?? [];
        string Field(string name) => body.TryGetValue(name, out var value) ? value : "";
        if (body.Keys.FirstOrDefault(k => !AuthenticateFields.Contains(k)) is { } unknown) return Error(HttpStatusCode.BadRequest, "invalid_request", $"Unknown parameter {unknown}");
        if (Field("client_id") != ClientId || Field("client_secret") != ApiKey)
            return Error(HttpStatusCode.Unauthorized, "invalid_client");

        FakeWorkOSUser user;
        string sessionId;
        string? organizationId = null;
        switch (Field("grant_type"))
        {
            case "authorization_code":
                if (!_codes.TryRemove(Field("code"), out var pending)) return Error(HttpStatusCode.BadRequest, "invalid_grant");
                if (pending.Challenge is not null && pending.Challenge != Challenge(Field("code_verifier")))
                    return Error(HttpStatusCode.BadRequest, "invalid_grant");
                user = pending.User;
                if (EmailVerificationCodes.ContainsKey(user.Id)) return Pending(user, "email_verification_required", "Email ownership must be verified before authentication.");
                if (OrganizationChoices.TryGetValue(user.Id, out var choices)) return Pending(user, "organization_selection_required", "The user must choose an organization.", choices);
                sessionId = "session_" + Guid.NewGuid().ToString("N");
                break;
            case "urn:workos:oauth:grant-type:email-verification:code":
                if (!_pending.TryGetValue(Field("pending_authentication_token"), out var verifying)
                    || !EmailVerificationCodes.TryGetValue(verifying.Id, out var emailed) || emailed != Field("code"))
                    return Error(HttpStatusCode.BadRequest, "invalid_grant");
                _pending.TryRemove(Field("pending_authentication_token"), out _);
                EmailVerificationCodes.TryRemove(verifying.Id, out _);
                user = verifying;
                sessionId = "session_" + Guid.NewGuid().ToString("N");
                break;
            case "urn:workos:oauth:grant-type:organization-selection":
                if (!_pending.TryGetValue(Field("pending_authentication_token"), out var choosing)
                    || !OrganizationChoices.TryGetValue(choosing.Id, out var offered) || offered.All(o => o.Id != Field("organization_id")))
                    return Error(HttpStatusCode.BadRequest, "invalid_grant");
                _pending.TryRemove(Field("pending_authentication_token"), out _);
                user = choosing;
                organizationId = Field("organization_id");
                sessionId = "session_" + Guid.NewGuid().ToString("N");
                break;
            case "refresh_token":
                if (!_refreshTokens.TryRemove(Field("refresh_token"), out var owner) || IsRevoked(owner.SessionId))
                    return Error(HttpStatusCode.BadRequest, "invalid_grant");
                (user, sessionId) = owner;
                break;
            default:
                return Error(HttpStatusCode.BadRequest, "unsupported_grant_type");
        }
        var refreshToken = "refresh_" + Guid.NewGuid().ToString("N");
        _refreshTokens[refreshToken] = (user, sessionId);
        return Results.Json(new Dictionary<string, object>
        {
            ["user"] = UserObject(user, emailVerified: true),
            ["access_token"] = MintAccessToken(user.Id, sessionId: sessionId,
                extraClaims: organizationId is null ? null : MembershipClaims(user.Id, organizationId)),
            ["refresh_token"] = refreshToken,
            ["authentication_method"] = "Password",
        });
    }

    /// <summary>The parameters of <c>POST /user_management/authenticate</c> across its grants (the SDK's serializers).</summary>
    private static readonly HashSet<string> AuthenticateFields =
    [
        "client_id", "client_secret", "grant_type", "code", "code_verifier", "refresh_token", "pending_authentication_token", "organization_id",
        "ip_address", "user_agent", "session",
    ];

    private readonly List<Dictionary<string, object?>> _events = [];

    /// <summary>A user changed or deleted in WorkOS's dashboard: the event is in <c>GET /events</c> from now on.</summary>
    public void PublishUserEvent(string type, FakeWorkOSUser user)
    {
        lock (_events)
            _events.Add(new Dictionary<string, object?>
            {
                ["object"] = "event", ["id"] = $"event_{_events.Count + 1:D8}{Guid.NewGuid():N}"[..32], ["event"] = type,
                ["data"] = UserObject(user, emailVerified: true),
                ["created_at"] = DateTimeOffset.UtcNow.ToString("O"),
            });
    }

    /// <summary>An organization changed or deleted in WorkOS's dashboard: the event (with the organization object) is in <c>GET /events</c> from now on.</summary>
    public void PublishOrganizationEvent(string type, string organizationId, string name)
    {
        lock (_events)
            _events.Add(new Dictionary<string, object?>
            {
                ["object"] = "event", ["id"] = $"event_{_events.Count + 1:D8}{Guid.NewGuid():N}"[..32], ["event"] = type,
                ["data"] = new Dictionary<string, object?>
                {
                    ["object"] = "organization", ["id"] = organizationId, ["name"] = name, ["allow_profiles_outside_organization"] = false,
                    ["domains"] = Array.Empty<object>(), ["external_id"] = null, ["metadata"] = new Dictionary<string, string>(),
                    ["created_at"] = "2026-01-01T00:00:00.000Z", ["updated_at"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
                },
                ["created_at"] = DateTimeOffset.UtcNow.ToString("O"),
            });
    }

    /// <summary>WorkOS's events list: <c>events</c> (required, repeated), <c>limit</c> (1-100), <c>after</c>, <c>order</c>; other parameters are refused.</summary>
    private IResult ListEvents(HttpRequest request)
    {
        if (request.Headers.Authorization.ToString() != "Bearer " + ApiKey) return Error(HttpStatusCode.Unauthorized, "unauthorized");
        var query = request.Query;
        if (query.Keys.FirstOrDefault(k => k is not ("events" or "limit" or "after" or "order" or "range_start" or "range_end" or "organization_id")) is { } unknown)
            return Error(HttpStatusCode.UnprocessableEntity, "invalid_request_parameters", $"Unknown parameter {unknown}");
        var types = query["events"].Select(e => e ?? "").ToHashSet();
        if (types.Count == 0) return Error(HttpStatusCode.UnprocessableEntity, "invalid_request_parameters", "'events' is required");
        var limit = int.TryParse(query["limit"], out var n) ? n : 10;
        if (limit is < 1 or > 100) return Error(HttpStatusCode.UnprocessableEntity, "invalid_request_parameters", "'limit' must be between 1 and 100");
        List<Dictionary<string, object?>> matching;
        lock (_events) matching = [.. _events.Where(e => types.Contains((string)e["event"]!))];
        if (query["order"] == "desc") matching.Reverse();
        var after = query["after"].ToString();
        if (after.Length > 0) matching = [.. matching.SkipWhile(e => (string)e["id"]! != after).Skip(1)];
        var page = matching.Take(limit).ToList();
        return Results.Json(new Dictionary<string, object?>
        {
            ["object"] = "list", ["data"] = page,
            ["list_metadata"] = new Dictionary<string, object?> { ["after"] = page.Count > 0 ? page[^1]["id"] : (after.Length > 0 ? after : null) },
        });
    }

    /// <summary>A user as WorkOS answers it everywhere (authenticate, pending sign-ins, events): every field of the SDK's user fixture.</summary>
    public static Dictionary<string, object?> UserObject(FakeWorkOSUser user, bool emailVerified) => new()
    {
        ["object"] = "user", ["id"] = user.Id, ["email"] = user.Email, ["name"] = $"{user.FirstName} {user.LastName}".Trim(),
        ["first_name"] = user.FirstName, ["last_name"] = user.LastName,
        ["created_at"] = "2026-01-01T00:00:00.000Z", ["updated_at"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
        ["email_verified"] = emailVerified, ["profile_picture_url"] = null, ["last_sign_in_at"] = null, ["locale"] = null, ["metadata"] = new Dictionary<string, string>(),
    };

    /// <summary>AuthKit's answer to a sign-in that needs one more step: 403 with the code, a pending token, the user and (to choose from) the organizations.</summary>
    private IResult Pending(FakeWorkOSUser user, string code, string message, (string Id, string Name)[]? organizations = null)
    {
        var token = "pat_" + Guid.NewGuid().ToString("N");
        _pending[token] = user;
        var body = new Dictionary<string, object?>
        {
            ["code"] = code, ["message"] = message, ["pending_authentication_token"] = token, ["email"] = user.Email,
            ["user"] = UserObject(user, emailVerified: code != "email_verification_required"),
        };
        if (code == "email_verification_required") body["email_verification_id"] = "email_verification_" + Guid.NewGuid().ToString("N")[..12];
        if (organizations is not null) body["organizations"] = organizations.Select(o => new { id = o.Id, name = o.Name }).ToArray();
        return Results.Json(body, statusCode: (int)HttpStatusCode.Forbidden);
    }

    // AuthKit's hosted sign-in, reduced to its answer: straight back to the app with a code and the state.
    private IResult Authorize(HttpRequest request)
    {
        var q = request.Query;
        if (q["client_id"] != ClientId || q["response_type"] != "code" || q["code_challenge_method"] != "S256" || NextBrowserUser is null)
            return Error(HttpStatusCode.BadRequest, "invalid_request");
        var code = IssueCode(NextBrowserUser, q["code_challenge"]);
        return Results.Redirect($"{q["redirect_uri"]}?code={Uri.EscapeDataString(code)}&state={Uri.EscapeDataString(q["state"].ToString())}");
    }

    private async Task<IResult> RevokeAsync(HttpRequest request)
    {
        if (request.Headers.Authorization.ToString() != "Bearer " + ApiKey) return Error(HttpStatusCode.Unauthorized, "unauthorized");
        var body = await JsonSerializer.DeserializeAsync<Dictionary<string, string>>(request.Body) ?? [];
        _revokedSessions[body.GetValueOrDefault("session_id", "")] = true;
        return Results.Ok(new { });
    }

    /// <summary>The S256 PKCE challenge of a verifier.</summary>
    public static string Challenge(string verifier) => Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));

    private static IResult Error(HttpStatusCode status, string code, string? message = null) =>
        Results.Json(new { code, message = message ?? code.Replace('_', ' ') }, statusCode: (int)status);

    private static RsaSecurityKey NewKey() => new(RSA.Create(2048)) { KeyId = "key_" + Guid.NewGuid().ToString("N")[..12] };

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }
}
