using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace SmartApp.Tests.Unit;

/// <summary>
/// The fake WorkOS answers in the shapes of WorkOS's own fixtures and documented examples (kept here), so the adapter
/// is tested against what WorkOS sends, not against a shape the fake and the adapter merely agree on.
/// </summary>
[Trait("Category", "Unit")]
public sealed class WorkOSContractTests : IAsyncLifetime
{
    /// <summary>The official Node SDK's user fixture (src/user-management/fixtures/user.json).</summary>
    private const string UserFixture = """
        {
          "object": "user", "id": "user_01H5JQDV7R7ATEYZDEG0W5PRYS", "email": "test01@example.com", "name": "Test 01 User",
          "first_name": "Test 01", "last_name": "User", "created_at": "2023-07-18T02:07:19.911Z", "updated_at": "2023-07-18T02:07:19.911Z",
          "email_verified": true, "profile_picture_url": "https://example.com/profile_picture.jpg", "last_sign_in_at": "2023-07-18T02:07:19.911Z",
          "locale": "en-US", "metadata": { "key": "value" }
        }
        """;

    /// <summary>AuthKit's documented error for a sign-in that needs the user's email verified first.</summary>
    private const string EmailVerificationRequired = """
        {
          "code": "email_verification_required", "message": "Email ownership must be verified before authentication.",
          "pending_authentication_token": "YQyCkYfuVw2mI3tzSrk2C1Y7S", "email": "marcelina.davis@example.com",
          "email_verification_id": "email_verification_01HYGGEB6FYMWQNWF3XDZG7VV3"
        }
        """;

    /// <summary>The SDK's authentication response (AuthenticationResponseResponse): required fields, then optional ones.</summary>
    private static readonly string[] AuthenticationRequired = ["user", "access_token", "refresh_token"];
    private static readonly string[] AuthenticationOptional = ["organization_id", "impersonator", "authentication_method", "oauth_tokens", "sealed_session"];

    private FakeWorkOS _workOS = null!;
    private readonly HttpClient _http = new();

    public async Task InitializeAsync() => _workOS = await FakeWorkOS.StartAsync();

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _workOS.DisposeAsync();
    }

    private static HashSet<string> Keys(JsonElement element) => [.. element.EnumerateObject().Select(p => p.Name)];

    private static FakeWorkOSUser NewUser() => new("user_" + Guid.NewGuid().ToString("N")[..20], $"ada-{Guid.NewGuid():N}@e2e.test", "Ada", "Lovelace");

    private Task<HttpResponseMessage> AuthenticateAsync(string code) =>
        _http.PostAsJsonAsync($"{_workOS.BaseUrl}/user_management/authenticate",
            new Dictionary<string, string> { ["client_id"] = FakeWorkOS.ClientId, ["client_secret"] = FakeWorkOS.ApiKey, ["grant_type"] = "authorization_code", ["code"] = code });

    [Fact]
    public async Task Users_sign_in_answers_and_pending_sign_ins_have_workos_s_shape()
    {
        var fixtureUser = Keys(JsonDocument.Parse(UserFixture).RootElement);
        var user = NewUser();
        using var signedIn = await AuthenticateAsync(_workOS.IssueCode(user));
        var answer = await signedIn.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.OK, signedIn.StatusCode);
        Assert.Subset(Keys(answer), AuthenticationRequired.ToHashSet());
        Assert.Subset(AuthenticationRequired.Concat(AuthenticationOptional).ToHashSet(), Keys(answer));
        Assert.Equal(fixtureUser, Keys(answer.GetProperty("user")));

        var unverified = NewUser();
        _workOS.EmailVerificationCodes[unverified.Id] = "123456";
        using var pending = await AuthenticateAsync(_workOS.IssueCode(unverified));
        Assert.Equal(HttpStatusCode.Forbidden, pending.StatusCode);
        var error = await pending.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Subset(Keys(error), Keys(JsonDocument.Parse(EmailVerificationRequired).RootElement));
        Assert.Equal(fixtureUser, Keys(error.GetProperty("user")));

        _workOS.PublishUserEvent("user.updated", user);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{_workOS.BaseUrl}/events?events=user.updated&limit=10");
        request.Headers.Authorization = new("Bearer", FakeWorkOS.ApiKey);
        using var listed = await _http.SendAsync(request);
        var list = await listed.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(["object", "data", "list_metadata"], Keys(list));
        var listedEvent = list.GetProperty("data")[0];
        Assert.Equal(["object", "id", "event", "data", "created_at"], Keys(listedEvent));
        Assert.Equal(fixtureUser, Keys(listedEvent.GetProperty("data")));
    }
}
