using System.Text.Json;
using Microsoft.Azure.Cosmos;

namespace SmartApp.Reliability;

/// <summary>
/// Records in the previous release's shape (container <c>records</c>, one partition per user), written for every user
/// before the load: the stored data migration moves them (on the user's next data request or on its timer) while the
/// faults run, and each must afterwards read back through the API as it was written — none lost, none changed.
/// </summary>
internal static class LegacyData
{
    public const int RecordsPerUser = 5;
    private const string Table = "legacy";

    public static async Task SeedAsync(IReadOnlyDictionary<string, string> state, IEnumerable<string> userIds)
    {
        using var cosmos = new CosmosClient(state["Cosmos__AccountEndpoint"], state["Cosmos__AccountKey"], new CosmosClientOptions
        {
            ConnectionMode = ConnectionMode.Gateway,
            LimitToEndpoint = true,
            HttpClientFactory = () => new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } }),
            UseSystemTextJsonSerializerWithOptions = new JsonSerializerOptions(JsonSerializerDefaults.Web),
        });
        var database = (await cosmos.CreateDatabaseIfNotExistsAsync("smartapp")).Database;
        var legacy = (await database.CreateContainerIfNotExistsAsync(new ContainerProperties("records", "/userId") { DefaultTimeToLive = -1 })).Container;
        var at = DateTimeOffset.UtcNow.AddDays(-30);
        foreach (var userId in userIds)
        {
            await legacy.UpsertItemAsync(new { id = $"table:{Table}", userId, type = "table", table = Table, createdAt = at }, new PartitionKey(userId));
            for (var i = 0; i < RecordsPerUser; i++)
                await legacy.UpsertItemAsync(new { id = $"{Table}:old-{i}", userId, type = "record", table = Table, recordId = $"old-{i}", data = new { n = i, owner = userId }, createdAt = at, updatedAt = at },
                    new PartitionKey(userId));
        }
    }

    /// <summary>Each seeded record read back through the API (a 503 while a move is under way is retried for up to a minute); the ones missing or changed.</summary>
    public static async Task<(int Verified, List<string> Lost)> VerifyAsync(Api api, string userId)
    {
        var lost = new List<string>();
        var verified = 0;
        for (var i = 0; i < RecordsPerUser; i++)
        {
            Api.Answer? answer = null;
            for (var attempt = 0; attempt < 30; attempt++)
            {
                answer = await api.GetAsync("data.legacy-read", $"data/tables/{Table}/records/old-{i}");
                if (answer is { Status: System.Net.HttpStatusCode.ServiceUnavailable } or null) await Task.Delay(2000);
                else break;
            }
            var data = answer is { Ok: true } ? answer.Body.GetProperty("data") : default;
            if (answer is { Ok: true } && data.GetProperty("n").GetInt32() == i && data.GetProperty("owner").GetString() == userId) verified++;
            else lost.Add($"legacy record old-{i} of {userId}: {(answer is null ? "no answer" : $"{(int)answer.Status} {answer.Body}")}");
        }
        return (verified, lost);
    }
}
