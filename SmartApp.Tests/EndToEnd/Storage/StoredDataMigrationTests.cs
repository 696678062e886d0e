using System.Net;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Azure.Cosmos;

namespace SmartApp.Tests.EndToEnd;

/// <summary>
/// Memories and records written by the previous release (containers <c>memories</c> and <c>records</c>, one partition
/// per user, embeddings as base64) move to the sharded containers on the owner's next request or on the migration
/// timer, whichever comes first: the owner sees all of it at once, and nothing is lost, duplicated or brought back.
/// </summary>
[Collection(DevHostCollection.Name)]
public sealed class StoredDataMigrationTests(DevHostFixture app) : IDisposable
{
    private readonly CosmosClient _cosmos = app.CreateCosmosClient();

    public void Dispose() => _cosmos.Dispose();

    private Container Memories => _cosmos.GetContainer("smartapp", "memories-v2");
    private Container Records => _cosmos.GetContainer("smartapp", "records-v2");

    /// <summary>A container of the previous release, made here as that release made it.</summary>
    private async Task<Container> LegacyAsync(string name) =>
        (await _cosmos.GetDatabase("smartapp").CreateContainerIfNotExistsAsync(new ContainerProperties(name, "/userId") { DefaultTimeToLive = -1 })).Container;

    private static PartitionKey Owner(string userId) => new PartitionKeyBuilder().Add(userId).Build();

    private static async Task<List<JsonObject>> AllAsync(Container container, PartitionKey key)
    {
        using var iterator = container.GetItemQueryIterator<JsonObject>("SELECT * FROM c", requestOptions: new QueryRequestOptions { PartitionKey = key });
        var items = new List<JsonObject>();
        while (iterator.HasMoreResults) items.AddRange(await iterator.ReadNextAsync());
        return items;
    }

    /// <summary>An item of the current shape as the previous release stored it, for another owner: no shard, the vector as base64.</summary>
    private static JsonObject AsLegacy(JsonObject item, string owner)
    {
        var copy = new JsonObject();
        foreach (var (name, value) in item)
            if (!name.StartsWith('_') && name is not ("shard" or "vector")) copy[name] = value?.DeepClone();
        copy["userId"] = owner;
        if (item["vector"] is JsonArray vector)
            copy["embedding"] = Convert.ToBase64String(MemoryMarshal.AsBytes(vector.Select(v => (float)v!).ToArray().AsSpan()));
        return copy;
    }

    /// <summary>Copies everything a donor user wrote through the API into the legacy containers, as the data of <paramref name="owner"/>.</summary>
    private async Task<(int Memories, int Records)> SeedLegacyAsync(string donorId, string owner)
    {
        var (legacyMemories, legacyRecords) = (await LegacyAsync("memories"), await LegacyAsync("records"));
        var memories = await AllAsync(Memories, Owner(donorId));
        var records = await AllAsync(Records, Owner(donorId));
        foreach (var item in memories) await legacyMemories.CreateItemAsync(AsLegacy(item, owner), new PartitionKey(owner));
        foreach (var item in records) await legacyRecords.CreateItemAsync(AsLegacy(item, owner), new PartitionKey(owner));
        return (memories.Count, records.Count);
    }

    private async Task<(HttpClient Client, string Id)> NewUserAsync(string label)
    {
        var (client, signIn) = await app.SignInAsync(TestUsers.NewEmail(label));
        return (client, signIn.GetProperty("user").GetProperty("id").GetString()!);
    }

    [Fact]
    public async Task An_owners_legacy_memories_and_records_are_all_there_on_their_next_request_and_end_up_sharded_with_vectors()
    {
        var (donor, donorId) = await NewUserAsync("donor");
        var sessionId = await MemoryTests.StartSessionAsync(donor);
        var kept = await MemoryTests.PutAsync(donor, sessionId, new { content = "Prefers window seats on long train journeys" });
        var forgotten = await MemoryTests.PutAsync(donor, sessionId, new { content = "Was allergic to walnuts as a child" });
        using (var deleted = await donor.DeleteAsync($"memory/sessions/{sessionId}/memories/{forgotten}")) Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await DataTests.PostAsync(donor, "people", DataTests.People[0]);

        var (owner, ownerId) = await NewUserAsync("legacy");
        var (memoryItems, recordItems) = await SeedLegacyAsync(donorId, ownerId);
        Assert.Equal(3, memoryItems); // the session, the memory, the tombstone of the deleted one
        Assert.Equal(2, recordItems); // the table and its record

        // At once, without waiting for the timer: everything of the owner's is there, the deleted memory is not.
        using (var list = await owner.GetAsync($"memory/sessions/{sessionId}/memories"))
        {
            var body = await list.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(list.StatusCode == HttpStatusCode.OK, body.ToString());
            var listed = Assert.Single(body.GetProperty("memories").EnumerateArray()); // not the deleted one
            Assert.Equal(kept, listed.GetProperty("id").GetString());
        }
        using (var search = await owner.PostAsJsonAsync("memory/search", new { terms = "seat preference on trains" }))
        {
            var results = (await search.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results").EnumerateArray().ToList();
            Assert.Equal("Prefers window seats on long train journeys", results[0].GetProperty("content").GetString());
            Assert.DoesNotContain(results, r => r.GetProperty("content").GetString()!.Contains("walnuts", StringComparison.Ordinal));
        }
        using (var record = await owner.GetAsync("data/tables/people/records/ana"))
        {
            var body = await record.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(record.StatusCode == HttpStatusCode.OK, body.ToString());
            Assert.Equal("Lisbon", body.GetProperty("data").GetProperty("city").GetString());
        }
        await DataTests.PostAsync(owner, "people", DataTests.People[1]);
        using (var query = await owner.PostAsJsonAsync("data/tables/people/query", new { }))
        {
            var body = await query.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(query.StatusCode == HttpStatusCode.OK, body.ToString());
            Assert.Equal(["ana", "ben"], body.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("id").GetString()));
        }

        // Nothing of the owner's is left behind; each item is under its shard, a vector where there was base64.
        Assert.Empty(await AllAsync(await LegacyAsync("memories"), new PartitionKey(ownerId)));
        Assert.Empty(await AllAsync(await LegacyAsync("records"), new PartitionKey(ownerId)));
        var moved = await AllAsync(Memories, Owner(ownerId));
        Assert.Equal(3, moved.Count);
        Assert.All(moved, m => Assert.Null(m["embedding"]));
        Assert.Equal(384, moved.Single(m => (string)m["id"]! == kept)["vector"]!.AsArray().Count);
        Assert.Equal(3, (await AllAsync(Records, Owner(ownerId))).Count);
        foreach (var (container, item) in moved.Select(m => (Memories, m)).Concat((await AllAsync(Records, Owner(ownerId))).Select(r => (Records, r))))
        {
            var id = (string)item["id"]!;
            Assert.Equal(SmartApp.Domain.Common.Storage.CosmosContainers.ShardOf(id), (string?)item["shard"]);
            using var read = await container.ReadItemStreamAsync(id, new PartitionKeyBuilder().Add(ownerId).Add((string)item["shard"]!).Build());
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }
    }

    [Fact]
    public async Task An_owner_who_does_not_come_back_is_moved_by_the_timer_and_keeps_everything()
    {
        var (donor, donorId) = await NewUserAsync("donor");
        foreach (var person in DataTests.People) await DataTests.PostAsync(donor, "people", person);
        var ownerId = "usr_away_" + Guid.NewGuid().ToString("N");
        var (_, recordItems) = await SeedLegacyAsync(donorId, ownerId);
        Assert.Equal(DataTests.People.Length + 1, recordItems);

        var legacy = await LegacyAsync("records");
        await Eventually.UntilAsync(async () => (await AllAsync(legacy, new PartitionKey(ownerId))).Count == 0, "the timer moved the owner's records");
        var moved = await AllAsync(Records, Owner(ownerId));
        Assert.Equal(recordItems, moved.Count);
        Assert.Equal(["ana", "ben", "cai", "dee"], moved.Where(m => (string?)m["type"] == "record").Select(m => (string)m["recordId"]!).Order());
    }
}
