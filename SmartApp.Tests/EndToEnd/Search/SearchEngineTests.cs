using System.Net;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Azure.Cosmos;

namespace SmartApp.Tests.EndToEnd;

/// <summary>
/// Search by Cosmos DB's own vector and full-text queries (the configured engine), on the emulator through the
/// official SDK: the data shape it searches (passages keyed by user then file, vectors as arrays), the migration of
/// data written before it, and the emulator answering those queries as the service does.
/// </summary>
[Collection(DevHostCollection.Name)]
public sealed class SearchEngineTests(DevHostFixture app) : IDisposable
{
    private readonly CosmosClient _cosmos = app.CreateCosmosClient();

    public void Dispose() => _cosmos.Dispose();

    private Container Files => _cosmos.GetContainer("smartapp", "files");
    private Container Passages => _cosmos.GetContainer("smartapp", "passages");

    private static PartitionKey FileKey(string userId, string fileId) => new PartitionKeyBuilder().Add(userId).Add(fileId).Build();

    private static async Task<List<JsonObject>> QueryAsync(Container container, string sql, PartitionKey? key, params (string Name, object Value)[] parameters)
    {
        var definition = new QueryDefinition(sql);
        foreach (var (name, value) in parameters) definition = definition.WithParameter(name, value);
        using var iterator = container.GetItemQueryIterator<JsonObject>(definition, requestOptions: new QueryRequestOptions { PartitionKey = key });
        var items = new List<JsonObject>();
        while (iterator.HasMoreResults) items.AddRange(await iterator.ReadNextAsync());
        return items;
    }

    private static string Base64(JsonArray vector) =>
        Convert.ToBase64String(MemoryMarshal.AsBytes(vector.Select(v => (float)v!).ToArray().AsSpan()));

    private static JsonObject Legacy(JsonObject item)
    {
        var copy = new JsonObject();
        foreach (var (name, value) in item)
            if (!name.StartsWith('_') && name != "vector") copy[name] = value?.DeepClone();
        copy["embedding"] = Base64(item["vector"]!.AsArray());
        return copy;
    }

    private static string FileId(JsonElement file) => (file.TryGetProperty("id", out var id) ? id : file.GetProperty("fileId")).GetString()!;

    /// <summary>A new user with one indexed text file.</summary>
    private async Task<(HttpClient User, string UserId, string FileId)> UserWithFileAsync(string text, string name)
    {
        var (user, signIn) = await app.SignInAsync(TestUsers.NewEmail("search"));
        var file = await FileTests.UploadAsync(user, TestDocuments.Utf8(text), name, "text/plain");
        await FileTests.WaitForAsync(user, FileId(file), "indexed");
        return (user, signIn.GetProperty("user").GetProperty("id").GetString()!, FileId(file));
    }

    /// <summary>Puts the file's passage back where and as the previous release kept it: in <c>files</c>, its embedding base64. Returns the passage as it was.</summary>
    private async Task<JsonObject> MakeLegacyAsync(string userId, string fileId)
    {
        var passage = Assert.Single(await QueryAsync(Passages, "SELECT * FROM c", FileKey(userId, fileId)));
        await Files.UpsertItemAsync(Legacy(passage), new PartitionKey(userId));
        await Passages.DeleteItemAsync<object>((string)passage["id"]!, FileKey(userId, fileId));
        return passage;
    }

    [Fact]
    public async Task Passages_are_kept_one_file_per_partition_with_their_vector_and_searched_without_loading_anything()
    {
        var (user, userId, fileId) = await UserWithFileAsync("The lighthouse keeper winds the clockwork lamp every evening at dusk.", "lighthouse.txt");

        var passages = await QueryAsync(Passages, "SELECT * FROM c", FileKey(userId, fileId));
        var passage = Assert.Single(passages);
        Assert.Equal(384, passage["vector"]!.AsArray().Count);
        Assert.Null(passage["embedding"]);
        Assert.Empty(await QueryAsync(Files, "SELECT c.id FROM c WHERE c.type = 'chunk'", new PartitionKey(userId)));

        var byMeaning = await FileTests.SearchAsync(user, new { query = "who lights the lamp at night" });
        Assert.Equal(fileId, byMeaning[0].GetProperty("fileId").GetString());
        var byWords = await FileTests.SearchAsync(user, new { query = "clockwork" });
        Assert.Equal(fileId, byWords[0].GetProperty("fileId").GetString());
    }

    [Fact]
    public async Task Passages_written_before_vector_search_are_moved_by_the_migration_and_then_found()
    {
        var (user, userId, fileId) = await UserWithFileAsync("Our sourdough starter is fed with rye flour every twelve hours.", "bakery.txt");

        // Put the passage back in the shape of the previous release: in `files`, with a base64 embedding.
        var passage = await MakeLegacyAsync(userId, fileId);

        // The migration timer (every 2 s here) moves it; search finds it. (Memories: StoredDataMigrationTests.)
        await Eventually.UntilAsync(async () => (await QueryAsync(Passages, "SELECT c.id FROM c", FileKey(userId, fileId))).Count == 1, "the passage is back in its file's partition");
        Assert.Empty(await QueryAsync(Files, "SELECT c.id FROM c WHERE c.type = 'chunk'", new PartitionKey(userId)));
        var moved = Assert.Single(await QueryAsync(Passages, "SELECT * FROM c", FileKey(userId, fileId)));
        Assert.Equal(passage["vector"]!.ToJsonString(), moved["vector"]!.ToJsonString());
        Assert.Equal((string)passage["text"]!, (string)moved["text"]!);
        Assert.Equal(fileId, (await FileTests.SearchAsync(user, new { query = "sourdough" }))[0].GetProperty("fileId").GetString());
    }

    [Fact]
    public async Task A_legacy_passage_of_a_file_deleted_before_it_moved_does_not_come_back()
    {
        var (user, userId, fileId) = await UserWithFileAsync("The attic key hangs behind the calendar.", "attic.txt");
        await MakeLegacyAsync(userId, fileId);

        using (var deleted = await user.DeleteAsync($"files/{fileId}")) Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);

        // Deleting the file removed its legacy passage too; migration runs after that have nothing of it to move.
        Assert.Empty(await QueryAsync(Files, "SELECT c.id FROM c WHERE c.type = 'chunk'", new PartitionKey(userId)));
        await Task.Delay(TimeSpan.FromSeconds(5)); // two migration runs
        Assert.Empty(await QueryAsync(Passages, "SELECT c.id FROM c", new PartitionKeyBuilder().Add(userId).Build()));
    }

    [Fact]
    public async Task The_emulator_scopes_hierarchical_keys_and_ranks_vector_and_full_text_queries_as_the_service_does()
    {
        var alice = "usr_emu_" + Guid.NewGuid().ToString("N");
        var bob = "usr_emu_" + Guid.NewGuid().ToString("N");
        float[] Unit(params float[] v) => [.. v.Concat(Enumerable.Repeat(0f, 384 - v.Length))];
        async Task Put(string user, string file, string id, string text, float[] vector) =>
            await Passages.UpsertItemAsync(new { id, userId = user, fileId = file, type = "chunk", index = 0, start = 0, end = text.Length, text, vector }, FileKey(user, file));
        await Put(alice, "f1", "a1", "red apples and green pears", Unit(1, 0));
        await Put(alice, "f2", "a2", "green tea leaves", Unit(0.6f, 0.8f));
        await Put(alice, "f2", "a3", "stone fruit: peaches and plums", Unit(0, 1));
        await Put(bob, "f1", "b1", "green apples", Unit(1, 0));

        var aliceOnly = new PartitionKeyBuilder().Add(alice).Build();
        Assert.Equal(["a1", "a2", "a3"], (await QueryAsync(Passages, "SELECT c.id FROM c", aliceOnly)).Select(i => (string)i["id"]!).Order());
        Assert.Equal(["a2", "a3"], (await QueryAsync(Passages, "SELECT c.id FROM c", FileKey(alice, "f2"))).Select(i => (string)i["id"]!).Order());

        var nearest = await QueryAsync(Passages, "SELECT TOP 2 c.id, VectorDistance(c.vector, @q) AS similarity FROM c ORDER BY VectorDistance(c.vector, @q)", aliceOnly, ("@q", Unit(1, 0)));
        Assert.Equal(["a1", "a2"], nearest.Select(i => (string)i["id"]!));
        Assert.Equal(1.0, (double)nearest[0]["similarity"]!, 3);
        Assert.Equal(0.6, (double)nearest[1]["similarity"]!, 3);

        var keywords = await QueryAsync(Passages,
            "SELECT TOP 5 c.id FROM c WHERE FullTextContainsAny(c.text, 'green', 'apples') ORDER BY RANK FullTextScore(c.text, 'green', 'apples')", aliceOnly);
        Assert.Equal(["a1", "a2"], keywords.Select(i => (string)i["id"]!)); // both words before one; bob's "green apples" is not alice's

        var fused = await QueryAsync(Passages, "SELECT TOP 3 c.id FROM c ORDER BY RANK RRF(FullTextScore(c.text, 'plums'), VectorDistance(c.vector, @q))", aliceOnly, ("@q", Unit(0, 1)));
        Assert.Equal("a3", (string)fused[0]["id"]!);

        var refused = await Assert.ThrowsAsync<CosmosException>(() => QueryAsync(Passages, "SELECT FullTextScore(c.text, 'green') AS s FROM c", aliceOnly));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }
}
