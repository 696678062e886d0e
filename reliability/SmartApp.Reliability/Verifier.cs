using System.Net;
using System.Text.Json;

namespace SmartApp.Reliability;

/// <summary>After the run: every acknowledged write is read back; nothing may be missing, duplicated, or someone else's.</summary>
public sealed class Verifier(SimulatedUser user, Api api, Action<string> log)
{
    /// <summary>The step running now (reported when verification does not finish in time).</summary>
    public string Step { get; private set; } = "not started";

    public int Verified { get; private set; }
    public List<string> Lost { get; } = [];
    public List<string> Duplicated { get; } = [];

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        foreach (var (name, step) in new (string, Func<CancellationToken, Task>)[]
            { ("chat", MessagesAsync), ("memory", MemoriesAsync), ("files", FilesAsync), ("data", RecordsAsync), ("shared data", SharedRecordsAsync), ("webhooks", WebhooksAsync), ("branches", EditsAsync) })
        {
            Step = name;
            var started = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                await step(cancellationToken);
            }
            catch (InvalidOperationException ex)
            {
                Lost.Add($"user {user.Index} {name}: {ex.Message}"); // what could not be read back counts as lost
            }
            if (started.Elapsed > TimeSpan.FromSeconds(10)) log($"user {user.Index}: verifying {name} took {started.Elapsed.TotalSeconds:F0} s");
        }
        Step = "done";
    }

    private async Task MessagesAsync(CancellationToken cancellationToken)
    {
        var contents = new List<string>();
        var seen = new HashSet<string>();
        string? cursor = null;
        do
        {
            var page = await ReadAsync("verify.chat", $"chat/conversations/{user.ConversationId}?limit=100{(cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor))}", cancellationToken);
            contents.AddRange(page.GetProperty("messages").EnumerateArray().Where(m => m.GetProperty("role").GetString() == "user").Select(m => m.GetProperty("content").GetString()!));
            cursor = Next(page, "cursor", seen, "chat");
        }
        while (cursor is not null);
        Count(user.Messages, contents, "chat message");
        foreach (var uncertain in user.UncertainMessages.Where(m => contents.Count(c => c == m) > 1)) Duplicated.Add($"user {user.Index} chat message stored twice: {uncertain}");
    }

    /// <summary>Each acknowledged edit is the first message of its branch (every branch of one conversation, read once each).</summary>
    private async Task EditsAsync(CancellationToken cancellationToken)
    {
        foreach (var branch in user.Edits.GroupBy(e => e.Branch))
        {
            var read = await ReadAsync("verify.branches", $"chat/conversations/{user.BranchedConversationId}?branch={Uri.EscapeDataString(branch.Key)}&limit=10", cancellationToken);
            var contents = read.GetProperty("messages").EnumerateArray().Where(m => m.GetProperty("role").GetString() == "user").Select(m => m.GetProperty("content").GetString()!).ToList();
            Count(branch.Select(e => e.Content), contents, "edited message");
        }
    }

    private async Task MemoriesAsync(CancellationToken cancellationToken)
    {
        var listed = (await ReadAsync("verify.memory", $"memory/sessions/{user.SessionId}/memories?last=1000", cancellationToken))
            .GetProperty("memories").EnumerateArray().Select(m => m.GetProperty("id").GetString()!).ToList();
        Count(user.Memories.Keys, listed, "memory");
    }

    private async Task FilesAsync(CancellationToken cancellationToken)
    {
        var files = new List<(string Id, string Name)>();
        var seen = new HashSet<string>();
        string? cursor = null;
        do
        {
            var page = await ReadAsync("verify.files", $"files?limit=100{(cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor))}", cancellationToken);
            files.AddRange(page.GetProperty("files").EnumerateArray().Select(f => (f.GetProperty("id").GetString()!, f.GetProperty("name").GetString()!)));
            cursor = Next(page, "cursor", seen, "files");
        }
        while (cursor is not null);
        Count(user.Files.Keys, files.Select(f => f.Id).ToList(), "file");
        foreach (var name in files.GroupBy(f => f.Name).Where(g => g.Count() > 1)) Duplicated.Add($"user {user.Index} file uploaded once, stored {name.Count()} times: {name.Key}");
    }

    private async Task RecordsAsync(CancellationToken cancellationToken)
    {
        var records = new List<(string Id, string Note)>();
        var seen = new HashSet<string>();
        string? cursor = null;
        do
        {
            var page = await ReadAsync("verify.data", "data/tables/notes/query", cancellationToken, new { limit = 500, cursor }, whenMissing: NoRecords);
            records.AddRange(page.GetProperty("items").EnumerateArray().Select(r => (r.GetProperty("id").GetString()!, r.GetProperty("data").GetProperty("note").GetString()!)));
            cursor = Next(page, "nextCursor", seen, "data");
        }
        while (cursor is not null);
        foreach (var id in records.GroupBy(r => r.Id).Where(g => g.Count() > 1)) Duplicated.Add($"user {user.Index} record {id.Key} listed {id.Count()} times");
        foreach (var (id, expected) in user.Records.Where(r => !user.UncertainRecords.Contains(r.Key)))
        {
            var found = records.Where(r => r.Id == id).ToList();
            Verified++;
            if (expected is null && found.Count > 0) Lost.Add($"user {user.Index} record {id}: its acknowledged deletion was lost");
            else if (expected is not null && found.Count == 0) Lost.Add($"user {user.Index} record {id}: acknowledged, missing");
            else if (expected is not null && found[0].Note != expected) Lost.Add($"user {user.Index} record {id}: '{found[0].Note}' instead of the acknowledged '{expected}'");
        }
    }

    /// <summary>The records and memory documents this user wrote in the organization's space, each read back there by id as acknowledged.</summary>
    private async Task SharedRecordsAsync(CancellationToken cancellationToken)
    {
        foreach (var (id, note) in user.SharedRecords)
        {
            var record = await ReadAsync("verify.data.org", $"data/tables/shared/records/{id}?space=org", cancellationToken);
            Verified++;
            if (record.GetProperty("data").GetProperty("note").GetString() != note) Lost.Add($"user {user.Index} shared record {id}: not the acknowledged note");
        }
        foreach (var (id, text) in user.SharedDocuments)
        {
            var document = await ReadAsync("verify.memory.org", $"memory/documents/{id}", cancellationToken);
            Verified++;
            if (document.GetProperty("document").GetProperty("text").GetString() != text) Lost.Add($"user {user.Index} organization document {id}: not the acknowledged text");
        }
    }

    /// <summary>
    /// An acknowledged event delivered again — signed now, as Stripe signs every attempt (a signature older
    /// than the app's tolerance is refused) — is recognised as applied, and changes nothing.
    /// </summary>
    private async Task WebhooksAsync(CancellationToken cancellationToken)
    {
        foreach (var body in user.Webhooks)
        {
            var answer = await UntilAcceptedAsync("verify.webhook", "billing/webhook", () => api.DeliverWebhookAsync("verify.webhook", body, cancellationToken), cancellationToken);
            Verified++;
            if (answer is not { Ok: true }) Lost.Add($"user {user.Index} webhook could not be delivered again: {answer?.Status}");
            else if (!answer.Body.GetProperty("alreadyApplied").GetBoolean()) Lost.Add($"user {user.Index} webhook {answer.Body.GetProperty("eventId")}: acknowledged, but not recorded as applied");
        }
        foreach (var body in user.MissedWebhooks)
        {
            var answer = await UntilAcceptedAsync("verify.webhook", "billing/webhook", () => api.DeliverWebhookAsync("verify.webhook", body, cancellationToken), cancellationToken);
            Verified++;
            if (answer is { Ok: true } && !answer.Body.GetProperty("alreadyApplied").GetBoolean())
                Lost.Add($"user {user.Index} event {answer.Body.GetProperty("eventId")}: never delivered, and not recovered from Stripe's events list");
        }
    }

    /// <summary>The next page's cursor; a cursor that comes back again would page forever, so it ends the listing and is reported.</summary>
    private string? Next(JsonElement page, string property, HashSet<string> seen, string what)
    {
        var cursor = page.TryGetProperty(property, out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        if (cursor is null || seen.Add(cursor)) return cursor;
        Duplicated.Add($"user {user.Index} {what}: a page's cursor came back again (paging would repeat forever)");
        return null;
    }

    private void Count(IEnumerable<string> acknowledged, List<string> found, string what)
    {
        foreach (var item in acknowledged)
        {
            Verified++;
            var times = found.Count(f => f == item);
            if (times == 0) Lost.Add($"user {user.Index} {what} acknowledged, missing: {item}");
            else if (times > 1) Duplicated.Add($"user {user.Index} {what} stored {times} times: {item}");
        }
    }

    /// <summary>A table that was never made (every create of it failed) lists no records.</summary>
    private static readonly JsonElement NoRecords = JsonDocument.Parse("""{"items":[]}""").RootElement;

    private async Task<JsonElement> ReadAsync(string route, string path, CancellationToken cancellationToken, object? query = null, JsonElement? whenMissing = null)
    {
        var answer = await UntilAcceptedAsync(route, path, () => query is null
            ? api.GetAsync(route, path, cancellationToken)
            : api.SendJsonAsync(route, HttpMethod.Post, path, query, cancellationToken), cancellationToken);
        if (answer is { Ok: true }) return answer.Body;
        if (answer is { Status: HttpStatusCode.NotFound } && whenMissing is { } missing) return missing;
        throw new InvalidOperationException($"{route} {path} still fails after the run: {answer?.Status}");
    }

    /// <summary>
    /// Sends until the app accepts, up to 20 times a second apart: it may still be recovering, and only
    /// what was written is being judged here. Every answer is scanned for leaks; the last one is returned.
    /// </summary>
    private async Task<Api.Answer?> UntilAcceptedAsync(string route, string path, Func<Task<Api.Answer?>> send, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var answer = user.Check(await send());
            if (answer is { Ok: true } or { Status: HttpStatusCode.NotFound } || attempt == 20) return answer;
            log($"user {user.Index}: {route} {path} answered {(answer is null ? "nothing" : (int)answer.Status)}; sending again");
            await Task.Delay(1000, cancellationToken);
        }
    }
}
