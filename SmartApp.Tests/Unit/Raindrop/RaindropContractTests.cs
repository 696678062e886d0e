using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Raindrop;

namespace SmartApp.Tests.Unit;

/// <summary>
/// Raindrop's request and answer shapes, as the official SDK's types declare them: the app never sends an empty
/// bucket version, a 200 that reports failure is a failure, and the fake refuses what the real API refuses.
/// </summary>
[Trait("Category", "Unit")]
public sealed class RaindropContractTests : IAsyncLifetime
{
    private FakeRaindrop _raindrop = null!;
    private readonly HttpClient _http = new();

    public async Task InitializeAsync()
    {
        _raindrop = await FakeRaindrop.StartAsync();
        _http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", FakeRaindrop.ApiKey);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _raindrop.DisposeAsync();
    }

    [Fact]
    public void With_a_key_the_app_does_not_start_without_the_application_version()
    {
        var services = new ServiceCollection().AddRaindrop(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Raindrop:ApiKey"] = "rd_key", ["Raindrop:Version"] = "",
        }).Build()).BuildServiceProvider();
        var refused = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<RaindropOptions>>().Value);
        Assert.Contains("Raindrop:Version", refused.Message);
    }

    [Theory]
    [InlineData("""{"results":"[]","queryExecuted":"INSERT","status":400,"aiReasoning":"SQLITE_ERROR"}""", "status 400 (SQLITE_ERROR)")]
    [InlineData("""{"results":"[]","status":"500"}""", "status 500")]
    [InlineData("""{"success":false,"error":"no such session"}""", "success: false (no such session)")]
    [InlineData("""{"success":true}""", null)]
    [InlineData("""{"results":"[]","queryExecuted":"SELECT 1","status":200}""", null)]
    [InlineData("""{"status":"completed","errors":[]}""", null)] // a document's indexing status is a word, not an HTTP code
    [InlineData("""[1,2]""", null)]
    public void A_200_answer_that_reports_failure_is_read_as_one(string body, string? failure) =>
        Assert.Equal(failure, RaindropAnswerCheck.FailureIn(Encoding.UTF8.GetBytes(body)));

    private static JsonObject Bucket(string version = "01jtryx2f2f61ryk06vd8mr91p") =>
        new() { ["bucket"] = new JsonObject { ["name"] = "my-smartbucket", ["applicationName"] = "my-app", ["version"] = version } };

    private async Task<(HttpStatusCode Status, string Body)> PostAsync(string verb, JsonObject body)
    {
        using var response = await _http.PostAsync($"{_raindrop.BaseUrl}/v1/{verb}", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_fake_takes_the_sdk_s_own_examples_and_refuses_what_the_types_do_not_allow()
    {
        // The SDK's request examples (its generated tests), which the real API accepts.
        var put = new JsonObject { ["bucketLocation"] = Bucket(), ["content"] = Convert.ToBase64String("hello"u8.ToArray()), ["contentType"] = "text/plain", ["key"] = "document.txt" };
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("put_object", put)).Status);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("document_status", new JsonObject { ["bucketLocation"] = Bucket(), ["objectId"] = "document.txt", ["partition"] = "tenant-123" })).Status);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("search", new JsonObject { ["bucketLocations"] = new JsonArray(Bucket()), ["input"] = "hello", ["requestId"] = "req-1" })).Status);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("execute_query", new JsonObject { ["smartSqlLocation"] = new JsonObject { ["smartSql"] = new JsonObject { ["name"] = "analytics-sql" } }, ["sqlQuery"] = "SELECT 1" })).Status);

        var refusals = new (string Verb, JsonObject Body, string Names)[]
        {
            ("put_object", new JsonObject { ["bucketLocation"] = Bucket(version: ""), ["content"] = "aGk=", ["contentType"] = "text/plain", ["key"] = "k" }, "bucket.version"),
            ("put_object", new JsonObject { ["bucketLocation"] = new JsonObject { ["bucket"] = new JsonObject { ["name"] = "b", ["applicationName"] = "a" } }, ["content"] = "aGk=", ["contentType"] = "text/plain", ["key"] = "k" }, "bucket.version"),
            ("put_object", new JsonObject { ["bucketLocation"] = Bucket(), ["content"] = "aGk=", ["key"] = "k" }, "contentType"),
            ("put_object", new JsonObject { ["bucketLocation"] = Bucket(), ["content"] = "aGk=", ["contentType"] = "text/plain", ["key"] = "k", ["partition"] = "p" }, "partition"),
            ("search", new JsonObject { ["bucketLocations"] = new JsonArray(), ["input"] = "x", ["requestId"] = "r" }, "bucketLocations"),
            ("search", new JsonObject { ["bucketLocations"] = new JsonArray(Bucket()), ["input"] = "", ["requestId"] = "r" }, "input"),
            ("put_memory", new JsonObject { ["smartMemoryLocation"] = new JsonObject { ["smartMemory"] = new JsonObject { ["name"] = "m", ["applicationName"] = "a", ["version"] = "" } }, ["sessionId"] = "s", ["content"] = "c" }, "smartMemory.version"),
            ("execute_query", new JsonObject { ["smartSqlLocation"] = new JsonObject { ["smartSql"] = new JsonObject { ["name"] = "" } }, ["sqlQuery"] = "SELECT 1" }, "smartSql.name"),
            ("no_such_verb", new JsonObject(), "no_such_verb"),
        };
        foreach (var (verb, body, names) in refusals)
        {
            var (status, answer) = await PostAsync(verb, body);
            Assert.True(status == HttpStatusCode.BadRequest, $"{verb} {body.ToJsonString()} was {(int)status}");
            Assert.Contains(names, answer);
        }
    }

    [Fact]
    public async Task The_fake_reports_failures_in_200_answers_on_demand()
    {
        _raindrop.FailInBody("execute_query", 1);
        var sql = new JsonObject { ["smartSqlLocation"] = new JsonObject { ["smartSql"] = new JsonObject { ["name"] = "analytics-sql" } }, ["sqlQuery"] = "CREATE TABLE t (id TEXT)" };
        var (status, body) = await PostAsync("execute_query", sql);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("status 400 (SQLITE_ERROR: the statement failed)", RaindropAnswerCheck.FailureIn(Encoding.UTF8.GetBytes(body)));
        Assert.Empty(_raindrop.Tables); // nothing was applied
        Assert.Null(RaindropAnswerCheck.FailureIn(Encoding.UTF8.GetBytes((await PostAsync("execute_query", sql)).Body)));
        Assert.Contains("t", _raindrop.Tables);
    }
}
