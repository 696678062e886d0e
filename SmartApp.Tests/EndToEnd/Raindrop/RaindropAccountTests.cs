using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;

namespace SmartApp.Tests.EndToEnd;

/// <summary>Deleting an account erases what was mirrored of it to Raindrop too, and nothing of anyone else's.</summary>
[Collection(RaindropCollection.Name)]
public sealed class RaindropAccountTests(RaindropDevHostFixture app)
{
    private FakeRaindrop Raindrop => app.Raindrop;

    private async Task<(HttpClient User, string UserId, string SqlTable)> UserWithEverythingAsync(string who, string word)
    {
        var (user, signIn) = await app.SignInAsync(TestUsers.NewEmail(who));
        var userId = signIn.GetProperty("user").GetProperty("id").GetString()!;
        var session = await MemoryTests.StartSessionAsync(user);
        await MemoryTests.PutAsync(user, session, new { content = $"memory of {word}" });
        using (var doc = await user.PostAsJsonAsync("memory/documents", new { document = new { note = $"document of {word}" } }))
            Assert.Equal(HttpStatusCode.Created, doc.StatusCode);
        using (var procedure = await user.PutAsJsonAsync($"memory/procedures/{word}", new { value = $"procedure of {word}" }))
            Assert.True(procedure.IsSuccessStatusCode);
        var fileId = (await FileTests.UploadAsync(user, Encoding.UTF8.GetBytes($"file of {word}"), $"{word}.txt", "text/plain")).GetProperty("id").GetString()!;
        await DataTests.PostAsync(user, "notes", new { id = "n1", text = $"record of {word}" });
        var sqlTable = $"u{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(userId)))[..12]}_notes";

        await Eventually.UntilAsync(() =>
            Raindrop.Sessions.Values.Any(m => m.Any(x => x.Content == $"memory of {word}"))
            && Raindrop.Documents.Any(d => d.Contains($"document of {word}", StringComparison.Ordinal))
            && Raindrop.Procedures.Values.Contains($"procedure of {word}")
            && Raindrop.Keys.Contains($"users/{userId}/{fileId}")
            && Raindrop.Rows(sqlTable).Count == 1, $"everything of {who} is mirrored");
        return (user, userId, sqlTable);
    }

    [Fact]
    public async Task A_deleted_accounts_memories_documents_procedures_files_and_tables_are_erased_from_Raindrop()
    {
        var (alice, aliceId, aliceTable) = await UserWithEverythingAsync("erase-alice", "apricots");
        var (_, bobId, bobTable) = await UserWithEverythingAsync("erase-bob", "blueberries");

        using var accepted = await alice.DeleteAsync("me");
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var status = await app.WaitForDeletionAsync(accepted.Headers.Location!.ToString());
        Assert.Equal("completed", status.GetProperty("status").GetString());
        Assert.True(status.GetProperty("deleted").GetProperty("raindrop").GetInt32() >= 5, status.ToString());

        Assert.DoesNotContain(Raindrop.Sessions.Values, m => m.Any(x => x.Content == "memory of apricots"));
        Assert.DoesNotContain(Raindrop.Documents, d => d.Contains("document of apricots", StringComparison.Ordinal));
        Assert.DoesNotContain("procedure of apricots", Raindrop.Procedures.Values);
        Assert.DoesNotContain(Raindrop.Keys, k => k.StartsWith($"users/{aliceId}/", StringComparison.Ordinal));
        Assert.DoesNotContain(aliceTable, Raindrop.Tables);

        Assert.Contains(Raindrop.Sessions.Values, m => m.Any(x => x.Content == "memory of blueberries"));
        Assert.Contains(Raindrop.Documents, d => d.Contains("document of blueberries", StringComparison.Ordinal));
        Assert.Contains("procedure of blueberries", Raindrop.Procedures.Values);
        Assert.Contains(Raindrop.Keys, k => k.StartsWith($"users/{bobId}/", StringComparison.Ordinal));
        Assert.Contains(bobTable, Raindrop.Tables);
    }
}
