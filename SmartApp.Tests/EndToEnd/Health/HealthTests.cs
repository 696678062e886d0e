using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace SmartApp.Tests.EndToEnd;

/// <summary>The health routes as a client and an operator meet them, through the real worker.</summary>
[Collection(DevHostCollection.Name)]
public sealed class HealthTests(DevHostFixture app)
{
    [Fact]
    public async Task Health_is_200_and_healthy_when_storage_answers()
    {
        using var response = await app.Client.GetAsync("health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("healthy", body.GetProperty("status").GetString());
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task Health_details_are_for_admins_and_name_each_dependency()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail());
        using var forbidden = await user.GetAsync("health/details");
        await ProblemAssert.IsProblemAsync(forbidden, HttpStatusCode.Forbidden, "forbidden");

        using var anonymous = await app.Client.GetAsync("health/details");
        await ProblemAssert.IsProblemAsync(anonymous, HttpStatusCode.Unauthorized, "unauthorized");

        var (admin, _) = await app.SignInAsync(TestUsers.AdminEmail);
        var details = await admin.GetFromJsonAsync<JsonElement>("health/details");
        Assert.Equal("healthy", details.GetProperty("status").GetString());
        var dependencies = details.GetProperty("dependencies");
        Assert.Equal("healthy", dependencies.GetProperty("cosmos").GetProperty("status").GetString());
        Assert.Equal("Azure Cosmos DB", dependencies.GetProperty("cosmos").GetProperty("provider").GetString());
        Assert.Equal("healthy", dependencies.GetProperty("blob").GetProperty("status").GetString());
        Assert.True(dependencies.GetProperty("blob").GetProperty("latencyMs").GetInt64() >= 0);
        // The model in use, read from the provider's list.
        Assert.Equal("healthy", dependencies.GetProperty("model").GetProperty("status").GetString());
        Assert.Contains("e2e-model is served", dependencies.GetProperty("model").GetProperty("description").GetString());
    }
}
