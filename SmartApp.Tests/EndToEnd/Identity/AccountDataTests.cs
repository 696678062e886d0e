using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Storage.Blobs;
using Microsoft.Azure.Cosmos;

namespace SmartApp.Tests.EndToEnd;

/// <summary>Export and account deletion, checked directly in Cosmos and Blob Storage.</summary>
[Collection(DevHostCollection.Name)]
public sealed class AccountDataTests(DevHostFixture app) : IDisposable
{
    private readonly CosmosClient _cosmos = app.CreateCosmosClient();

    private readonly BlobContainerClient _files = new BlobServiceClient(app.StorageConnectionString).GetBlobContainerClient("files");

    public void Dispose() => _cosmos.Dispose();

    private Container Records => _cosmos.GetContainer("smartapp", "records-v2");

    /// <summary>Gives a user a record and a file, as the data and files capabilities would.</summary>
    private async Task SeedAsync(string userId, string marker)
    {
        var shard = SmartApp.Domain.Common.Storage.CosmosContainers.ShardOf("rec-" + marker);
        await Records.UpsertItemAsync(new { id = "rec-" + marker, userId, shard, table = "notes", text = marker }, new PartitionKeyBuilder().Add(userId).Add(shard).Build());
        await _files.UploadBlobAsync($"users/{userId}/file-{marker}", BinaryData.FromString("bytes of " + marker));
    }

    private async Task<int> CountCosmosAsync(string container, string userId)
    {
        using var query = _cosmos.GetContainer("smartapp", container).GetItemQueryIterator<JsonElement>("SELECT c.id FROM c",
            requestOptions: new QueryRequestOptions { PartitionKey = new PartitionKeyBuilder().Add(userId).Build() }); // a whole key, or a hierarchical key's first level
        var count = 0;
        while (query.HasMoreResults) count += (await query.ReadNextAsync()).Count;
        return count;
    }

    private async Task<int> CountBlobsAsync(string userId)
    {
        var count = 0;
        await foreach (var _ in _files.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, $"users/{userId}/", default)) count++;
        return count;
    }

    [Fact]
    public async Task Export_holds_everything_the_user_owns_and_nothing_of_anyone_else()
    {
        var (alice, aliceSignIn) = await app.SignInAsync(TestUsers.NewEmail("alice"), "Alice");
        var (_, bobSignIn) = await app.SignInAsync(TestUsers.NewEmail("bob"), "Bob");
        var aliceId = aliceSignIn.GetProperty("user").GetProperty("id").GetString()!;
        var bobId = bobSignIn.GetProperty("user").GetProperty("id").GetString()!;
        await SeedAsync(aliceId, "alice-secret");
        await SeedAsync(bobId, "bob-secret");

        using var response = await alice.GetAsync("me/export", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        var export = JsonDocument.Parse(text).RootElement;
        Assert.Equal(aliceId, export.GetProperty("userId").GetString());
        var stores = export.GetProperty("stores");
        Assert.Equal("Alice", stores.GetProperty("users")[0].GetProperty("name").GetString());
        Assert.Equal("alice-secret", stores.GetProperty("records")[0].GetProperty("text").GetString());
        Assert.Equal($"users/{aliceId}/file-alice-secret", stores.GetProperty("blobs")[0].GetProperty("name").GetString());
        Assert.DoesNotContain("bob-secret", text);
        Assert.DoesNotContain(bobId, text);
        Assert.DoesNotContain("\"_rid\"", text);
    }

    [Fact]
    public async Task Deleting_the_account_removes_its_data_from_every_store_and_leaves_others_untouched()
    {
        var (alice, aliceSignIn) = await app.SignInAsync(TestUsers.NewEmail("alice"));
        var (bob, bobSignIn) = await app.SignInAsync(TestUsers.NewEmail("bob"));
        var aliceId = aliceSignIn.GetProperty("user").GetProperty("id").GetString()!;
        var bobId = bobSignIn.GetProperty("user").GetProperty("id").GetString()!;
        await SeedAsync(aliceId, "a1");
        await SeedAsync(aliceId, "a2");
        await SeedAsync(bobId, "b1");

        using var accepted = await alice.DeleteAsync("me");
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var location = accepted.Headers.Location!.ToString();
        Assert.StartsWith("/api/me/deletions/del_", location);

        var status = await app.WaitForDeletionAsync(location);
        Assert.Equal("completed", status.GetProperty("status").GetString());
        Assert.Equal(2, status.GetProperty("deleted").GetProperty("records").GetInt32());
        Assert.Equal(2, status.GetProperty("deleted").GetProperty("blobs").GetInt32());

        foreach (var container in new[] { "users", "records-v2" })
            Assert.Equal(0, await CountCosmosAsync(container, aliceId));
        Assert.Equal(0, await CountBlobsAsync(aliceId));

        using var gone = await alice.GetAsync("me");
        await ProblemAssert.IsProblemAsync(gone, HttpStatusCode.Unauthorized, "unauthorized");

        Assert.Equal(1, await CountCosmosAsync("records-v2", bobId));
        Assert.Equal(1, await CountCosmosAsync("users", bobId));
        Assert.Equal(1, await CountBlobsAsync(bobId));
        using var bobMe = await bob.GetAsync("me");
        Assert.Equal(HttpStatusCode.OK, bobMe.StatusCode);
    }

    [Fact]
    public async Task After_deletion_a_late_webhook_writes_nothing_and_upload_urls_stop_working()
    {
        var (carol, signIn) = await app.SignInAsync(TestUsers.NewEmail("carol"));
        var carolId = signIn.GetProperty("user").GetProperty("id").GetString()!;
        using var begun = await carol.PostAsJsonAsync("files/uploads", new { name = "later.txt", contentType = "text/plain", size = 5 });
        var upload = new Azure.Storage.Blobs.Specialized.BlockBlobClient(new Uri((await begun.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("uploadUrl").GetString()!));
        await upload.UploadAsync(new MemoryStream("first"u8.ToArray())); // the URL works while the account exists

        using var accepted = await carol.DeleteAsync("me");
        Assert.Equal("completed", (await app.WaitForDeletionAsync(accepted.Headers.Location!.ToString())).GetProperty("status").GetString());

        // Stripe delivers a late event for the deleted account's subscription: acknowledged, and nothing is written back.
        var subscription = "sub_" + Guid.NewGuid().ToString("N")[..14];
        app.Stripe.SetSubscription(subscription, "cus_" + Guid.NewGuid().ToString("N")[..14], "active", carolId);
        var (body, signature) = FakeStripe.Event("customer.subscription.updated", new System.Text.Json.Nodes.JsonObject
        {
            ["id"] = subscription, ["object"] = "subscription", ["status"] = "active", ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["userId"] = carolId },
        });
        using var late = new HttpRequestMessage(HttpMethod.Post, "billing/webhook") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        late.Headers.TryAddWithoutValidation("Stripe-Signature", signature);
        using var delivered = await app.Client.SendAsync(late);
        Assert.Equal(HttpStatusCode.OK, delivered.StatusCode);
        Assert.Equal(0, await CountCosmosAsync("users", carolId));

        // The upload URL handed out before the deletion no longer writes anything: its container went with the account.
        var refused = await Assert.ThrowsAsync<Azure.RequestFailedException>(() => upload.UploadAsync(new MemoryStream("again"u8.ToArray())));
        Assert.Equal(404, refused.Status);
    }

    [Fact]
    public async Task An_unknown_deletion_is_404()
    {
        using var response = await app.Client.GetAsync("me/deletions/del_nope");
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound, "not-found");
    }
}
