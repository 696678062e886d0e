using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using static SmartApp.Tests.EndToEnd.AnswerAssert;

namespace SmartApp.Tests.EndToEnd;

/// <summary>Regenerating a reply and editing a message branch a conversation; share links show a snapshot of one branch to anyone with the link.</summary>
[Collection(DevHostCollection.Name)]
public sealed class BranchAndShareTests(DevHostFixture app) : IAsyncLifetime
{
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        app.Model.Failure = FakeModelFailure.None;
        app.Model.Down = false;
        return Task.CompletedTask;
    }

    private static async Task<(string Branch, (string Id, string Role, string Content)[] Messages)> ReadAsync(HttpClient user, string conversation, string? branch = null)
    {
        var read = await JsonAsync(user.GetAsync($"chat/conversations/{conversation}{(branch is null ? "" : $"?branch={branch}")}"), HttpStatusCode.OK);
        return (read.GetProperty("branch").GetString()!,
            [.. read.GetProperty("messages").EnumerateArray().Select(m => (m.GetProperty("id").GetString()!, m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!))]);
    }

    [Fact]
    public async Task Regenerating_and_editing_make_branches_each_readable_and_the_latest_is_read_by_default()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("branch"));
        var conversation = await ChatTests.StartAsync(user);
        var first = await JsonAsync(user.PostAsJsonAsync($"chat/conversations/{conversation}/messages", new { content = "Tell me about otters" }), HttpStatusCode.OK);
        var question = first.GetProperty("message").GetProperty("id").GetString()!;
        var earlierReply = first.GetProperty("reply").GetProperty("id").GetString()!;

        // Regenerate: a new reply to the same message on a new branch; the earlier one stays on main.
        var regenerated = await JsonAsync(user.PostAsJsonAsync($"chat/conversations/{conversation}/messages/{earlierReply}/regenerate", new { }), HttpStatusCode.OK);
        Assert.Equal(question, regenerated.GetProperty("message").GetProperty("id").GetString());
        var newReply = regenerated.GetProperty("reply");
        Assert.NotEqual(earlierReply, newReply.GetProperty("id").GetString());
        Assert.Contains("otters", newReply.GetProperty("content").GetString());
        var regeneratedBranch = newReply.GetProperty("branch").GetString()!;
        Assert.True(newReply.GetProperty("cost").GetProperty("cents").GetDecimal() >= 0);

        var (readBranch, latest) = await ReadAsync(user, conversation);
        Assert.Equal(regeneratedBranch, readBranch);
        Assert.Equal([question, newReply.GetProperty("id").GetString()!], latest.Select(m => m.Id));
        Assert.Equal([question, earlierReply], (await ReadAsync(user, conversation, "main")).Messages.Select(m => m.Id));

        // Edit the message on that branch: the model sees nothing of the original, the branch holds the edit and its reply.
        var asked = app.Model.Requests.Count;
        var edited = await JsonAsync(user.PostAsJsonAsync($"chat/conversations/{conversation}/messages/{question}/edit", new { content = "Tell me about beavers" }), HttpStatusCode.OK);
        var prompt = app.Model.Requests.Skip(asked).Single().ToJsonString();
        Assert.Contains("beavers", prompt);
        Assert.DoesNotContain("otters", prompt);
        var editedBranch = edited.GetProperty("message").GetProperty("branch").GetString()!;
        Assert.NotEqual(regeneratedBranch, editedBranch);
        Assert.Contains("beavers", edited.GetProperty("reply").GetProperty("content").GetString());

        var (current, messages) = await ReadAsync(user, conversation);
        Assert.Equal(editedBranch, current);
        Assert.Equal(["Tell me about beavers", edited.GetProperty("reply").GetProperty("content").GetString()!], messages.Select(m => m.Content));
        Assert.Equal([question, newReply.GetProperty("id").GetString()!], (await ReadAsync(user, conversation, regeneratedBranch)).Messages.Select(m => m.Id));
        Assert.Equal([question, earlierReply], (await ReadAsync(user, conversation, "main")).Messages.Select(m => m.Id));

        var branches = await JsonAsync(user.GetAsync($"chat/conversations/{conversation}/branches"), HttpStatusCode.OK);
        Assert.Equal(editedBranch, branches.GetProperty("current").GetString());
        var listed = branches.GetProperty("branches").EnumerateArray().ToList();
        Assert.Equal(["main", regeneratedBranch, editedBranch], listed.Select(b => b.GetProperty("id").GetString()));
        Assert.Equal(("regenerate", earlierReply, "main"), (listed[1].GetProperty("kind").GetString(), listed[1].GetProperty("replaces").GetString(), listed[1].GetProperty("parent").GetString()));
        Assert.Equal(("edit", question, regeneratedBranch), (listed[2].GetProperty("kind").GetString(), listed[2].GetProperty("replaces").GetString(), listed[2].GetProperty("parent").GetString()));
        var summary = (await JsonAsync(user.GetAsync($"chat/conversations/{conversation}"), HttpStatusCode.OK)).GetProperty("conversation");
        Assert.Equal((editedBranch, 3), (summary.GetProperty("currentBranch").GetString(), summary.GetProperty("branches").GetInt32()));

        // What does not exist on a branch, or is not a reply or a message, is refused and changes nothing.
        await ProblemAssert.IsProblemAsync(await user.PostAsJsonAsync($"chat/conversations/{conversation}/messages/{question}/regenerate", new { }), HttpStatusCode.NotFound, "not-found");
        await ProblemAssert.IsProblemAsync(await user.PostAsJsonAsync($"chat/conversations/{conversation}/messages/{earlierReply}/regenerate", new { }), HttpStatusCode.NotFound, "not-found");
        await ProblemAssert.IsProblemAsync(await user.PostAsJsonAsync($"chat/conversations/{conversation}/messages/{earlierReply}/edit", new { content = "x", branch = "main" }), HttpStatusCode.NotFound, "not-found");
        await ProblemAssert.IsProblemAsync(await user.PostAsJsonAsync($"chat/conversations/{conversation}/messages/{earlierReply}/regenerate", new { branch = "br_nope" }), HttpStatusCode.BadRequest, "validation");
        await ProblemAssert.IsProblemAsync(await user.GetAsync($"chat/conversations/{conversation}?branch=../main"), HttpStatusCode.BadRequest, "validation");

        // Another user sees none of it.
        var (other, _) = await app.SignInAsync(TestUsers.NewEmail("branch-other"));
        await ProblemAssert.IsProblemAsync(await other.GetAsync($"chat/conversations/{conversation}/branches"), HttpStatusCode.NotFound, "not-found");
        await ProblemAssert.IsProblemAsync(await other.GetAsync($"chat/conversations/{conversation}?branch={editedBranch}"), HttpStatusCode.NotFound, "not-found");
        await ProblemAssert.IsProblemAsync(await other.PostAsJsonAsync($"chat/conversations/{conversation}/messages/{earlierReply}/regenerate", new { branch = "main" }), HttpStatusCode.NotFound, "not-found");
        Assert.Equal(3, (await JsonAsync(user.GetAsync($"chat/conversations/{conversation}/branches"), HttpStatusCode.OK)).GetProperty("branches").GetArrayLength());
    }

    [Fact]
    public async Task A_reply_cut_off_can_be_regenerated_and_a_regenerate_the_model_cannot_answer_leaves_no_branch()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("branch"));
        var conversation = await ChatTests.StartAsync(user);
        app.Model.Failure = FakeModelFailure.DropMidStream;
        await ChatTests.StreamAsync(user, conversation, new { content = "Describe the harbour at dawn", useMemory = false, useFiles = false });
        app.Model.Failure = FakeModelFailure.None;
        var (_, cut) = await ReadAsync(user, conversation);
        var cutReply = cut[1].Id;

        app.Model.Down = true;
        await ProblemAssert.IsProblemAsync(await user.PostAsJsonAsync($"chat/conversations/{conversation}/messages/{cutReply}/regenerate", new { useMemory = false, useFiles = false }),
            HttpStatusCode.ServiceUnavailable, "upstream-unavailable");
        var branches = await JsonAsync(user.GetAsync($"chat/conversations/{conversation}/branches"), HttpStatusCode.OK);
        Assert.Equal(("main", 1), (branches.GetProperty("current").GetString(), branches.GetProperty("branches").GetArrayLength()));

        app.Model.Down = false;
        var events = await ChatTests.StreamAsync(user, conversation, new { }, $"chat/conversations/{conversation}/messages/{cutReply}/regenerate");
        Assert.Equal("done", events[^1].Event);
        Assert.False(events[^1].Data.GetProperty("incomplete").GetBoolean());
        var (branch, messages) = await ReadAsync(user, conversation);
        Assert.NotEqual("main", branch);
        Assert.Equal(FakeVultr.ReplyPrefix + "Describe the harbour at dawn", messages[1].Content);
        Assert.Equal(cut[1].Content, (await ReadAsync(user, conversation, "main")).Messages[1].Content);
    }

    [Fact]
    public async Task A_reply_whose_worker_died_mid_generation_reads_interrupted_and_regenerating_it_gives_a_whole_one()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("branch"));
        var conversation = await ChatTests.StartAsync(user);
        app.Model.TokenDelay = TimeSpan.FromMilliseconds(100);
        string received;
        try
        {
            await Eventually.UntilAsync(() => app.WorkerProcessIds().Count == 1, "a worker to be running");
            (_, received, _) = await ChatTests.DropMidReplyAsync(user, conversation, ChatTests.LongQuestion(), deltas: 3);
            await Eventually.UntilAsync(async () => (await ChatTests.MessagesAsync(user, conversation)) is { Length: 2 } stored
                && stored[1].GetProperty("content").GetString()!.Length >= received.Length, "the reply so far to be stored");
            System.Diagnostics.Process.GetProcessById(app.WorkerProcessId()).Kill();
        }
        finally
        {
            app.Model.TokenDelay = TimeSpan.FromMilliseconds(2);
        }

        // Not written for Chat:ReplyStaleAfter (15 s), it reads as interrupted once a worker answers again.
        JsonElement reply = default;
        await Eventually.UntilAsync(async () =>
        {
            using var read = await user.GetAsync($"chat/conversations/{conversation}");
            if (read.StatusCode != HttpStatusCode.OK) return false;
            reply = (await read.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("messages")[1];
            return reply.TryGetProperty("interrupted", out var interrupted) && interrupted.GetBoolean();
        }, "the reply to read as interrupted");
        Assert.True(reply.GetProperty("incomplete").GetBoolean());
        Assert.StartsWith(received, reply.GetProperty("content").GetString());
        Assert.DoesNotContain("wave40", reply.GetProperty("content").GetString());

        var regenerated = await JsonAsync(user.PostAsJsonAsync($"chat/conversations/{conversation}/messages/{reply.GetProperty("id").GetString()}/regenerate", new { }), HttpStatusCode.OK);
        Assert.EndsWith("wave40", regenerated.GetProperty("reply").GetProperty("content").GetString());
        Assert.False(regenerated.GetProperty("reply").GetProperty("incomplete").GetBoolean());
        Assert.Equal(reply.GetProperty("content").GetString(), (await ReadAsync(user, conversation, "main")).Messages[1].Content); // the interrupted one stays on main
    }

    [Fact]
    public async Task A_share_link_shows_a_snapshot_of_one_branch_to_anyone_and_nothing_else_until_it_is_revoked()
    {
        var (user, signIn) = await app.SignInAsync(TestUsers.NewEmail("share"));
        var userId = signIn.GetProperty("user").GetProperty("id").GetString()!;
        using (await user.PostAsJsonAsync("memory/facts", new { content = "Keeps the spare key under the blue flowerpot" })) { }
        var conversation = await ChatTests.StartAsync(user);
        var turn = await JsonAsync(user.PostAsJsonAsync($"chat/conversations/{conversation}/messages", new { content = "Plan a weekend in Porto" }), HttpStatusCode.OK);

        var created = await JsonAsync(user.PostAsJsonAsync($"chat/conversations/{conversation}/shares", new { }), HttpStatusCode.Created);
        var shareId = created.GetProperty("id").GetString()!;
        Assert.Matches("^shr_[0-9a-f]{32}$", shareId);
        Assert.Equal($"/api/shares/{shareId}", created.GetProperty("url").GetString());
        Assert.Equal(2, created.GetProperty("messages").GetInt32());

        // Later messages never reach the snapshot.
        await JsonAsync(user.PostAsJsonAsync($"chat/conversations/{conversation}/messages", new { content = "Where is my spare key?" }), HttpStatusCode.OK);
        using var anonymous = new HttpClient { BaseAddress = app.Client.BaseAddress };
        using var response = await anonymous.GetAsync($"shares/{shareId}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("no-store", response.Headers.CacheControl?.ToString());
        var text = await response.Content.ReadAsStringAsync();
        var shared = JsonDocument.Parse(text).RootElement;
        Assert.Equal("Test", shared.GetProperty("title").GetString());
        Assert.Equal(["Plan a weekend in Porto", turn.GetProperty("reply").GetProperty("content").GetString()!],
            shared.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("content").GetString()!));
        // Nothing else of the user: no ids, sources, usage, memories or later messages.
        foreach (var secret in new[] { userId, conversation, turn.GetProperty("reply").GetProperty("id").GetString()!, "spare key", "flowerpot", "citations", "usage", "cost" })
            Assert.DoesNotContain(secret, text, StringComparison.OrdinalIgnoreCase);

        // Only the owner lists and revokes it; revoked, it is 404.
        var (other, _) = await app.SignInAsync(TestUsers.NewEmail("share-other"));
        await ProblemAssert.IsProblemAsync(await other.GetAsync($"chat/conversations/{conversation}/shares"), HttpStatusCode.NotFound, "not-found");
        await ProblemAssert.IsProblemAsync(await other.DeleteAsync($"chat/conversations/{conversation}/shares/{shareId}"), HttpStatusCode.NotFound, "not-found");
        var otherConversation = await ChatTests.StartAsync(other);
        await ProblemAssert.IsProblemAsync(await other.DeleteAsync($"chat/conversations/{otherConversation}/shares/{shareId}"), HttpStatusCode.NotFound, "not-found");
        await JsonAsync(anonymous.GetAsync($"shares/{shareId}"), HttpStatusCode.OK);
        Assert.Equal([shareId], (await JsonAsync(user.GetAsync($"chat/conversations/{conversation}/shares"), HttpStatusCode.OK)).GetProperty("shares").EnumerateArray()
            .Select(s => s.GetProperty("id").GetString()));
        await JsonAsync(user.DeleteAsync($"chat/conversations/{conversation}/shares/{shareId}"), HttpStatusCode.NoContent);
        await ProblemAssert.IsProblemAsync(await anonymous.GetAsync($"shares/{shareId}"), HttpStatusCode.NotFound, "not-found");
        Assert.Equal(0, (await JsonAsync(user.GetAsync($"chat/conversations/{conversation}/shares"), HttpStatusCode.OK)).GetProperty("shares").GetArrayLength());
        await ProblemAssert.IsProblemAsync(await anonymous.GetAsync("shares/shr_00000000000000000000000000000000"), HttpStatusCode.NotFound, "not-found");
        await ProblemAssert.IsProblemAsync(await user.PostAsJsonAsync($"chat/conversations/{otherConversation}/shares", new { }), HttpStatusCode.NotFound, "not-found");
        await ProblemAssert.IsProblemAsync(await other.PostAsJsonAsync($"chat/conversations/{otherConversation}/shares", new { }), HttpStatusCode.Conflict, "conflict"); // nothing said yet

        // Deleting the conversation revokes its links; deleting the account, every link of the account.
        var again = (await JsonAsync(user.PostAsJsonAsync($"chat/conversations/{conversation}/shares", new { branch = "main" }), HttpStatusCode.Created)).GetProperty("id").GetString();
        Assert.Equal(4, (await JsonAsync(anonymous.GetAsync($"shares/{again}"), HttpStatusCode.OK)).GetProperty("messages").GetArrayLength());
        await JsonAsync(user.DeleteAsync($"chat/conversations/{conversation}"), HttpStatusCode.NoContent);
        await ProblemAssert.IsProblemAsync(await anonymous.GetAsync($"shares/{again}"), HttpStatusCode.NotFound, "not-found");

        var kept = await ChatTests.StartAsync(user);
        await JsonAsync(user.PostAsJsonAsync($"chat/conversations/{kept}/messages", new { content = "One more question" }), HttpStatusCode.OK);
        var last = (await JsonAsync(user.PostAsJsonAsync($"chat/conversations/{kept}/shares", new { }), HttpStatusCode.Created)).GetProperty("id").GetString();
        using var deleting = await user.DeleteAsync("me");
        var deletion = await app.WaitForDeletionAsync(deleting.Headers.Location!.ToString());
        Assert.Equal(1, deletion.GetProperty("deleted").GetProperty("shares").GetInt32());
        await ProblemAssert.IsProblemAsync(await anonymous.GetAsync($"shares/{last}"), HttpStatusCode.NotFound, "not-found");
    }
}
