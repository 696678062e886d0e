using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Tests.EndToEnd;

/// <summary>
/// Work that outlives a request runs as queue- and timer-triggered functions, which the dev host drives as
/// the Functions host does: messages delivered again while they fail, the poison queue after
/// host.json's maxDequeueCount, a worker's death a failed delivery.
/// </summary>
[Collection(DevHostCollection.Name)]
public sealed class WorkQueueTests(DevHostFixture app)
{
    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public async Task An_upload_is_indexed_by_the_queue_triggered_function()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("queued"));
        var file = await FileTests.UploadAsync(user, Utf8("The harbour master rings the bell at dawn."), "bell.txt", "text/plain");
        await FileTests.WaitForAsync(user, file.GetProperty("id").GetString()!, "indexed");
        Assert.True(await app.OutputShowsAsync($"IngestFile <- queue {WorkQueues.FileIngestion} message", TimeSpan.FromSeconds(10)), app.Output);
    }

    [Fact]
    public async Task A_worker_killed_mid_ingestion_has_its_message_delivered_again_and_the_file_is_indexed_once()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("killed"));
        var before = await PassagesThisMonthAsync(user);
        // Long enough that embedding its passages takes a while: the worker is killed while it works.
        var text = string.Join("\n", Enumerable.Range(1, 4_000).Select(i => $"Entry {i}: the night watch saw lantern {i % 97} signal ship {i % 13}."));
        var file = await FileTests.UploadAsync(user, Utf8(text), "watch.txt", "text/plain");
        var id = file.GetProperty("id").GetString()!;
        // Killed once the file's passages are granted and recorded (its "chunk" stage), while they are embedded.
        await Eventually.UntilAsync(async () => (await user.GetFromJsonAsync<JsonElement>($"files/{id}")).GetProperty("stages").TryGetProperty("chunk", out _), "the passages to be granted");
        await KillTheWorkerAsync();

        var indexed = await WaitWhileWorkerReturnsAsync(user, id);
        var chunks = indexed.GetProperty("chunkCount").GetInt32();
        Assert.True(chunks > 0);
        // Passages are granted and counted once per file, however many deliveries it took.
        Assert.Equal(before + chunks, await PassagesThisMonthAsync(user));
        Assert.True(await app.OutputShowsAsync("IngestFile <- queue file-ingestion message", TimeSpan.FromSeconds(10)), app.Output);
    }

    [Fact]
    public async Task A_file_whose_ingestion_always_fails_reaches_the_poison_queue_and_is_failed_with_the_reason()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("poison"));
        // A file with no text fails at once; its bytes are then taken away, so every retry fails the same way.
        var file = await FileTests.UploadAsync(user, Utf8("\n \n\t\n"), "blank.txt", "text/plain");
        var id = file.GetProperty("id").GetString()!;
        await FileTests.WaitForAsync(user, id, "failed");
        var container = new BlobContainerClient(app.StorageConnectionString, "files");
        await foreach (var blob in container.GetBlobsAsync())
            if (blob.Name.EndsWith(id, StringComparison.Ordinal)) await container.DeleteBlobAsync(blob.Name);

        using (var retry = await user.PostAsync($"files/{id}/retry", null))
            Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        var failed = await FileTests.WaitForAsync(user, id, "failed");
        var reason = Assert.Single(failed.GetProperty("errors").EnumerateArray()).GetString()!;
        Assert.Contains("failed 5 times", reason);
        Assert.True(await app.OutputShowsAsync($"moved to {WorkQueues.FileIngestion}{WorkQueues.PoisonSuffix} after 5 dequeues", TimeSpan.FromSeconds(10)), app.Output);

        // Nothing about this file is left in either queue.
        foreach (var name in new[] { WorkQueues.FileIngestion, WorkQueues.FileIngestion + WorkQueues.PoisonSuffix })
        {
            var queue = new QueueClient(app.StorageConnectionString, name);
            var waiting = (await queue.PeekMessagesAsync(32)).Value.Select(m => Encoding.UTF8.GetString(Convert.FromBase64String(m.MessageText)));
            Assert.DoesNotContain(waiting, m => m.Contains(id, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task An_account_deletion_completes_through_its_queue_across_a_worker_kill()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("leaving"));
        await FileTests.UploadAsync(user, Utf8("Some notes to be deleted."), "notes.txt", "text/plain");
        using var requested = await user.DeleteAsync("me");
        Assert.Equal(HttpStatusCode.Accepted, requested.StatusCode);
        await KillTheWorkerAsync();
        var deletion = await app.WaitForDeletionAsync(requested.Headers.Location!.ToString());
        Assert.Equal("completed", deletion.GetProperty("status").GetString());
        Assert.True(await app.OutputShowsAsync($"DeleteAccount <- queue {WorkQueues.AccountDeletion} message", TimeSpan.FromSeconds(10)), app.Output);
    }

    /// <summary>Kills the worker, once there is one (after an earlier kill the host starts the next one 10 s after the last start).</summary>
    private async Task KillTheWorkerAsync()
    {
        await Eventually.UntilAsync(() => app.WorkerProcessIds().Count == 1, "a worker to be running");
        System.Diagnostics.Process.GetProcessById(app.WorkerProcessId()).Kill();
    }

    private static async Task<long> PassagesThisMonthAsync(HttpClient user) =>
        (await user.GetFromJsonAsync<JsonElement>("billing/subscription")).GetProperty("usage").GetProperty("passagesThisMonth").GetInt64();

    /// <summary>The file once indexed, reading through the host's answers while the worker is replaced.</summary>
    private static async Task<JsonElement> WaitWhileWorkerReturnsAsync(HttpClient user, string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (DateTime.UtcNow < deadline)
        {
            using var response = await user.GetAsync($"files/{id}");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var file = await response.Content.ReadFromJsonAsync<JsonElement>();
                if (file.GetProperty("status").GetString() == "indexed") return file;
                Assert.NotEqual("failed", file.GetProperty("status").GetString());
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"file {id} was not indexed within 120 s");
    }
}
