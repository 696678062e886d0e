using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SmartApp.Fakes;

namespace SmartApp.Reliability;

/// <summary>
/// One user working across every capability until the time is up, keeping a ledger of the writes
/// the app acknowledged (2xx) and of those it did not (their outcome is unknown: they may or may
/// not have happened, but never twice). Every answer is scanned for another user's marker, and for the marker of
/// an organization the user is not signed in to.
/// </summary>
public sealed partial class SimulatedUser(int index, Api api, string userId, FakeStripe stripe, ConcurrentQueue<string> leaks,
    SimulatedUser.Membership? membership, ConcurrentQueue<string> spaceLeaks)
{
    /// <summary>The organization (0 or 1) the user's session is signed in to, and their role there.</summary>
    public sealed record Membership(int Organization, string Role);

    /// <summary>What the organization's shared files carry instead of a user's marker: every member may see it, no one else.</summary>
    public static string OrganizationMarker(int organization) => $"og{organization:D2}q";

    /// <summary>Files this user put in the organization's space (acknowledged; verified with their own files).</summary>
    public int OrganizationFiles { get; private set; }

    /// <summary>Records this user created in the organization's <c>shared</c> table (acknowledged): id → note.</summary>
    public Dictionary<string, string> SharedRecords { get; } = [];

    /// <summary>Documents this user put in the organization's memory (acknowledged): id → text.</summary>
    public Dictionary<string, string> SharedDocuments { get; } = [];

    public int Index => index;
    public string UserId => userId;
    public string Marker { get; } = $"mk{index:D3}q";

    public string? ConversationId { get; private set; }
    public string? SessionId { get; private set; }

    /// <summary>Acknowledged writes, and writes whose outcome is unknown (no 2xx).</summary>
    public List<string> Messages { get; } = [];
    public HashSet<string> UncertainMessages { get; } = [];
    public Dictionary<string, string> Memories { get; } = [];
    public Dictionary<string, string> Files { get; } = [];
    public HashSet<string> UncertainFiles { get; } = [];

    /// <summary>Record id → the note it must have now, or null when its deletion was acknowledged. Uncertain ones are not checked for their value.</summary>
    public Dictionary<string, string?> Records { get; } = [];
    public HashSet<string> UncertainRecords { get; } = [];
    /// <summary>Acknowledged event bodies (Stripe signs each delivery attempt afresh, so only the body is kept).</summary>
    public List<string> Webhooks { get; } = [];

    /// <summary>A conversation of its own for regenerating and editing, and each acknowledged edit: its branch and content.</summary>
    public string? BranchedConversationId { get; private set; }
    public List<(string Branch, string Content)> Edits { get; } = [];

    /// <summary>Events created at Stripe that were never delivered to the webhook.</summary>
    public List<string> MissedWebhooks { get; } = [];

    private int _n;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; ConversationId is null || SessionId is null; attempt++)
        {
            ConversationId ??= (await api.SendJsonAsync("chat.start", HttpMethod.Post, "chat/conversations", new { title = $"{Marker} conversation" }, cancellationToken)) is { Ok: true } c
                ? c.Body.GetProperty("id").GetString() : null;
            SessionId ??= (await api.SendJsonAsync("memory.session", HttpMethod.Post, "memory/sessions", null, cancellationToken)) is { Ok: true } s
                ? s.Body.GetProperty("sessionId").GetString() : null;
            if (attempt > 20) throw new InvalidOperationException($"user {index} could not start");
            if (ConversationId is null || SessionId is null) await Task.Delay(500, cancellationToken);
        }
    }

    public async Task RunAsync(DateTime until, CancellationToken cancellationToken)
    {
        var random = new Random(index);
        while (DateTime.UtcNow < until && !cancellationToken.IsCancellationRequested)
        {
            var n = ++_n;
            var step = random.Next(23);
            try
            {
                await (step switch
                {
                    0 or 1 => ChatAsync(n, cancellationToken),
                    2 or 3 or 4 => RememberAsync(n, cancellationToken),
                    5 or 6 => SearchMemoryAsync(cancellationToken),
                    7 => UploadAsync(n, cancellationToken),
                    8 => SearchFilesAsync(cancellationToken),
                    9 or 10 or 11 => CreateRecordAsync(n, cancellationToken),
                    12 or 13 => ChangeRecordAsync(random, n, cancellationToken),
                    14 => DeleteRecordAsync(random, cancellationToken),
                    15 or 16 => QueryAsync(cancellationToken),
                    17 => WebhookAsync(n, cancellationToken),
                    18 => AttackAsync(n, cancellationToken),
                    20 => ChatWithToolsAsync(n, cancellationToken),
                    21 => McpAsync(n, cancellationToken),
                    19 => LearningAsync(n, cancellationToken),
                    22 => BranchAsync(n, cancellationToken),
                    _ => ReadMeAsync(cancellationToken),
                });
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task ChatAsync(int n, CancellationToken cancellationToken)
    {
        var content = $"{Marker} message {n}: what do you remember about my notes?";
        var answer = Check(await api.SendJsonAsync("chat.message", HttpMethod.Post, $"chat/conversations/{ConversationId}/messages", new { content }, cancellationToken));
        if (answer is { Ok: true }) Messages.Add(content);
        else UncertainMessages.Add(content);
        // Now and then the reply's stream is followed again (as after a dropped connection), or the conversation renamed.
        if (answer is { Ok: true } && n % 3 == 0 && answer.Body.TryGetProperty("reply", out var reply))
        {
            var resumed = Check(await api.GetAsync("chat.resume", $"chat/conversations/{ConversationId}/messages/{reply.GetProperty("id").GetString()}/stream?lastEventId=5", cancellationToken));
            if (resumed is { Ok: true } && !resumed.Body.TryGetProperty("incomplete", out _))
                api.Outcomes.Undesigned("chat.resume", $"a resumed stream that did not end with done: {resumed.Body.GetRawText()[..Math.Min(200, resumed.Body.GetRawText().Length)]}");
        }
        else if (answer is { Ok: true } && n % 5 == 0)
            Check(await api.SendJsonAsync("chat.rename", HttpMethod.Patch, $"chat/conversations/{ConversationId}", new { title = $"{Marker} conversation, renamed at {n}" }, cancellationToken));
    }

    /// <summary>
    /// Branches and share links, in a conversation of their own: a reply regenerated, the first message edited (each acknowledged
    /// edit must be on its branch afterwards), or the conversation shared, read without signing in, and revoked (a revoked link
    /// that still reads is undesigned). Another user's marker in any answer, the shared snapshot's included, is a leak.
    /// </summary>
    private async Task BranchAsync(int n, CancellationToken cancellationToken)
    {
        if (BranchedConversationId is null)
        {
            if (Check(await api.SendJsonAsync("chat.start", HttpMethod.Post, "chat/conversations", new { title = $"{Marker} branches" }, cancellationToken)) is not { Ok: true } started) return;
            var id = started.Body.GetProperty("id").GetString();
            if (Check(await api.SendJsonAsync("chat.message", HttpMethod.Post, $"chat/conversations/{id}/messages", new { content = $"{Marker} the first question {n}" }, cancellationToken)) is { Ok: true })
                BranchedConversationId = id;
            return;
        }
        var path = $"chat/conversations/{BranchedConversationId}";
        if (Check(await api.GetAsync("chat.read", $"{path}?branch=main", cancellationToken)) is not { Ok: true } read) return;
        var messages = read.Body.GetProperty("messages").EnumerateArray().ToList();
        switch (n % 3)
        {
            case 0 when messages.LastOrDefault(m => m.GetProperty("role").GetString() == "assistant") is { ValueKind: JsonValueKind.Object } reply:
                Check(await api.SendJsonAsync("chat.regenerate", HttpMethod.Post, $"{path}/messages/{reply.GetProperty("id").GetString()}/regenerate", new { branch = "main" }, cancellationToken));
                break;
            case 1 when messages.FirstOrDefault(m => m.GetProperty("role").GetString() == "user") is { ValueKind: JsonValueKind.Object } first:
                var content = $"{Marker} the first question, edited at {n}";
                if (Check(await api.SendJsonAsync("chat.edit", HttpMethod.Post, $"{path}/messages/{first.GetProperty("id").GetString()}/edit", new { content, branch = "main" }, cancellationToken))
                    is { Ok: true } edited)
                    Edits.Add((edited.Body.GetProperty("message").GetProperty("branch").GetString()!, content));
                break;
            default:
                if (Check(await api.SendJsonAsync("chat.share", HttpMethod.Post, $"{path}/shares", new { }, cancellationToken)) is not { Ok: true } shared) return;
                var shareId = shared.Body.GetProperty("id").GetString();
                Check(await api.GetAsync("shares.read", $"shares/{shareId}", cancellationToken));
                if (Check(await api.SendJsonAsync("chat.unshare", HttpMethod.Delete, $"{path}/shares/{shareId}", null, cancellationToken)) is { Ok: true }
                    && Check(await api.GetAsync("shares.read", $"shares/{shareId}", cancellationToken)) is { Ok: true })
                    api.Outcomes.Undesigned("shares.read", $"a revoked share link still reads: {shareId}");
                break;
        }
    }

    /// <summary>A turn in which the model searches the user's files with a tool (the fake model calls a tool the message names).</summary>
    private async Task ChatWithToolsAsync(int n, CancellationToken cancellationToken)
    {
        var content = $"{Marker} message {n}: use search_files to find when the ferry leaves";
        var answer = Check(await api.SendJsonAsync("chat.tools", HttpMethod.Post, $"chat/conversations/{ConversationId}/messages", new { content }, cancellationToken));
        if (answer is { Ok: true }) Messages.Add(content);
        else UncertainMessages.Add(content);
    }

    /// <summary>An MCP client of this user's: a search of their memory, or a query of their records (another user's marker in the answer is a leak).</summary>
    private async Task McpAsync(int n, CancellationToken cancellationToken)
    {
        object call = n % 2 == 0
            ? new { name = "search_memory", arguments = new { query = "harbour ferries lighthouse" } }
            : new { name = "query_data", arguments = new { table = "notes", limit = 20 } };
        var request = new HttpRequestMessage(HttpMethod.Post, "mcp") { Content = System.Net.Http.Json.JsonContent.Create(new { jsonrpc = "2.0", id = n, method = "tools/call", @params = call }) };
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        request.Headers.Add("MCP-Protocol-Version", "2025-06-18");
        var answer = Check(await api.SendAsync("mcp.tools_call", request, cancellationToken));
        if (answer is { Ok: true } && !answer.Body.TryGetProperty("result", out _))
            api.Outcomes.Undesigned("mcp.tools_call", $"a JSON-RPC answer without a result: {answer.Body.GetRawText()[..Math.Min(200, answer.Body.GetRawText().Length)]}");
    }

    /// <summary>
    /// Memory that learns: a turn stating a fact (learned after the turn, on the queue, with the user's marker in it), or a look at
    /// what was learned — the list, one fact's history, forgetting one. Another user's marker in any answer is a leak.
    /// </summary>
    private async Task LearningAsync(int n, CancellationToken cancellationToken)
    {
        if (n % 2 == 1)
        {
            var content = $"I really like {Marker} lighthouses number {n}.";
            var answer = Check(await api.SendJsonAsync("chat.learn", HttpMethod.Post, $"chat/conversations/{ConversationId}/messages", new { content }, cancellationToken));
            if (answer is { Ok: true }) Messages.Add(content);
            else UncertainMessages.Add(content);
            return;
        }
        var learned = Check(await api.GetAsync("memory.learned", "memory?origin=learned&limit=20", cancellationToken));
        if (learned is not { Ok: true } || learned.Body.GetProperty("memories").EnumerateArray().FirstOrDefault() is not { ValueKind: JsonValueKind.Object } fact) return;
        var id = fact.GetProperty("id").GetString();
        if (n % 4 == 0) Check(await api.GetAsync("memory.history", $"memory/{id}/history", cancellationToken));
        else Check(await api.SendJsonAsync("memory.forget", HttpMethod.Post, "memory/forget", new { about = $"{Marker} lighthouses" }, cancellationToken));
    }

    private async Task RememberAsync(int n, CancellationToken cancellationToken)
    {
        if (membership is not null && n % 4 == 0)
        {
            await RememberForOrganizationAsync(n, cancellationToken);
            return;
        }
        var content = $"{Marker} memory {n} about harbour ferries and lighthouse lamps";
        var answer = Check(await api.SendJsonAsync("memory.put", HttpMethod.Post, $"memory/sessions/{SessionId}/memories", new { content }, cancellationToken));
        if (answer is { Ok: true }) Memories[answer.Body.GetProperty("memoryId").GetString()!] = content;
    }

    /// <summary>
    /// A document in the organization's memory, carrying the organization's marker (an admin's is stored and read back by id;
    /// a member's is refused with 403). Every member's memory search may find it; no one else's.
    /// </summary>
    private async Task RememberForOrganizationAsync(int n, CancellationToken cancellationToken)
    {
        var text = $"{OrganizationMarker(membership!.Organization)} team note {n} about harbour ferries and lighthouse lamps";
        var answer = Check(await api.SendJsonAsync("memory.document.org", HttpMethod.Post, "memory/documents?space=org", new { document = new { text } }, cancellationToken));
        if (answer is not { Ok: true }) return;
        if (membership.Role != "admin") api.Outcomes.Undesigned("memory.document.org", "a member without memory:write wrote the organization's memory");
        SharedDocuments[answer.Body.GetProperty("documentId").GetString()!] = text;
    }

    private async Task SearchMemoryAsync(CancellationToken cancellationToken) =>
        Check(await api.SendJsonAsync("memory.search", HttpMethod.Post, "memory/search", new { terms = "harbour ferries lighthouse", limit = 10 }, cancellationToken));

    /// <summary>
    /// A file in the user's own space, or every other time for a member of an organization, in the organization's: carrying the
    /// organization's marker, not the user's (an admin's is stored; a member's is refused with 403 and changes nothing).
    /// </summary>
    private async Task UploadAsync(int n, CancellationToken cancellationToken)
    {
        var shared = membership is not null && n % 2 == 0;
        var marker = shared ? OrganizationMarker(membership!.Organization) : Marker;
        var name = shared ? $"{marker}-shared-{index}-{n}.txt" : $"{Marker}-notes-{n}.txt";
        var request = new HttpRequestMessage(HttpMethod.Post, shared ? "files?space=org" : "files")
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes($"{marker} notes {n}\n\nThe ferry leaves the harbour at seven.\n\nThe lighthouse lamp is lit at dusk.")),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        request.Headers.Add("X-File-Name", name);
        var answer = Check(await api.SendAsync(shared ? "files.upload.org" : "files.upload", request, cancellationToken));
        if (answer is { Ok: true })
        {
            if (shared && membership!.Role != "admin") api.Outcomes.Undesigned("files.upload.org", "a member without files:write wrote the organization's space");
            if (shared) OrganizationFiles++;
            Files[answer.Body.GetProperty("id").GetString()!] = name;
        }
        else if (shared && membership!.Role != "admin" && answer?.Status == HttpStatusCode.Forbidden) return; // refused as designed: nothing written
        else UncertainFiles.Add(name);
    }

    private async Task SearchFilesAsync(CancellationToken cancellationToken) =>
        Check(await api.SendJsonAsync("files.search", HttpMethod.Post, "files/search", new { query = "when does the ferry leave the harbour", limit = 10 }, cancellationToken));

    private async Task CreateRecordAsync(int n, CancellationToken cancellationToken)
    {
        if (membership is not null && n % 3 == 0)
        {
            await CreateSharedRecordAsync(n, cancellationToken);
            return;
        }
        var id = $"r{n}";
        var note = $"{Marker} note {n} v0";
        var answer = Check(await api.SendJsonAsync("data.create", HttpMethod.Post, "data/tables/notes/records", new { id, note, n }, cancellationToken));
        if (answer is { Ok: true }) Records[id] = note;
        else UncertainRecords.Add(id);
    }

    private async Task ChangeRecordAsync(Random random, int n, CancellationToken cancellationToken)
    {
        var live = Records.Where(r => r.Value is not null && !UncertainRecords.Contains(r.Key)).Select(r => r.Key).ToList();
        if (live.Count == 0) return;
        var id = live[random.Next(live.Count)];
        var note = $"{Marker} note {id} v{n}";
        var answer = Check(await api.SendJsonAsync("data.patch", HttpMethod.Patch, $"data/tables/notes/records/{id}", new { note }, cancellationToken));
        if (answer is { Ok: true }) Records[id] = note;
        else UncertainRecords.Add(id);
    }

    private async Task DeleteRecordAsync(Random random, CancellationToken cancellationToken)
    {
        var live = Records.Where(r => r.Value is not null && !UncertainRecords.Contains(r.Key)).Select(r => r.Key).ToList();
        if (live.Count < 5) return;
        var id = live[random.Next(live.Count)];
        var answer = Check(await api.SendAsync("data.delete", new HttpRequestMessage(HttpMethod.Delete, $"data/tables/notes/records/{id}"), cancellationToken));
        if (answer is { Ok: true }) Records[id] = null;
        else UncertainRecords.Add(id);
    }

    /// <summary>
    /// A record in the organization's <c>shared</c> table, carrying the organization's marker: an admin's is stored, a member's is
    /// refused (403, nothing written). Ids name the user, so members never collide.
    /// </summary>
    private async Task CreateSharedRecordAsync(int n, CancellationToken cancellationToken)
    {
        var id = $"u{index}r{n}";
        var note = $"{OrganizationMarker(membership!.Organization)} shared note {n}";
        var answer = Check(await api.SendJsonAsync("data.create.org", HttpMethod.Post, "data/tables/shared/records?space=org", new { id, note, n }, cancellationToken));
        if (answer is not { Ok: true }) return;
        if (membership.Role != "admin") api.Outcomes.Undesigned("data.create.org", "a member without data:write wrote the organization's table");
        SharedRecords[id] = note;
    }

    /// <summary>The user's own notes, or now and then for a member of an organization, the organization's shared table.</summary>
    private async Task QueryAsync(CancellationToken cancellationToken) =>
        Check(membership is not null && ++_n % 2 == 0
            ? await api.SendJsonAsync("data.query.org", HttpMethod.Post, "data/tables/shared/query?space=org", new { limit = 20 }, cancellationToken)
            : await api.SendJsonAsync("data.query", HttpMethod.Post, "data/tables/notes/query",
                new { where = new[] { new { field = "n", op = "gte", value = 0 } }, orderBy = new[] { new { field = "n", desc = true } }, limit = 20 }, cancellationToken));

    private async Task ReadMeAsync(CancellationToken cancellationToken) => Check(await api.GetAsync("me", "me", cancellationToken));

    /// <summary>Stripe says this user's subscription changed; the app reads it from (fake) Stripe and applies it.</summary>
    private async Task WebhookAsync(int n, CancellationToken cancellationToken)
    {
        var subscription = stripe.SetSubscription($"sub_{Marker}", $"cus_{Marker}", n % 2 == 0 ? "active" : "trialing", userId);
        if (n % 3 == 0)
        {
            // Created at Stripe, never delivered (the endpoint was down for it): the app must find it in Stripe's events list.
            MissedWebhooks.Add(stripe.Publish("customer.subscription.updated", subscription).Body);
            return;
        }
        var (body, _) = FakeStripe.Event("customer.subscription.updated", subscription);
        var answer = Check(await api.DeliverWebhookAsync("billing.webhook", body, cancellationToken));
        if (answer is { Ok: true }) Webhooks.Add(body);
    }

    /// <summary>
    /// What a hostile user sends, in turn: a direct upload larger than it declared (must be refused), bytes
    /// swapped in after <c>complete</c> through the first or a renewed URL (must change nothing; no new URL after it), Office and PDF bombs and deeply nested documents
    /// (stored, then failed by ingestion, never taking the worker down), and, from one user, a 50 MB chunked
    /// webhook body (refused). An attack the app accepts is recorded as undesigned.
    /// </summary>
    private async Task AttackAsync(int n, CancellationToken cancellationToken)
    {
        switch (n % 5)
        {
            case 0:
                if (await BeginUploadAsync("attack.declared-small", $"{Marker}-tiny-{n}.txt", 1, cancellationToken) is not { } small) return;
                if (!await PutStagingAsync(small.Url, Encoding.UTF8.GetBytes(new string('x', 4096)), cancellationToken)) return;
                var refused = Check(await api.SendAsync("attack.declared-small", new HttpRequestMessage(HttpMethod.Post, $"files/{small.FileId}/complete"), cancellationToken));
                if (refused is { Ok: true }) api.Outcomes.Undesigned("attack.declared-small", "a direct upload of 4096 bytes declared as 1 was completed");
                break;
            case 1:
                var original = Encoding.UTF8.GetBytes($"{Marker} ledger {n}: the ferry leaves the harbour at seven.");
                if (await BeginUploadAsync("attack.swap", $"{Marker}-ledger-{n}.txt", original.Length, cancellationToken) is not { } upload) return;
                // A slow client's new URL for the same upload (the bytes go to it); after complete, none is given.
                var renewed = Check(await api.SendAsync("files.upload-url", new HttpRequestMessage(HttpMethod.Post, $"files/{upload.FileId}/upload-url"), cancellationToken));
                var url = renewed is { Ok: true } ? renewed.Body.GetProperty("uploadUrl").GetString()! : upload.Url;
                if (!await PutStagingAsync(url, original, cancellationToken)) return;
                var completed = Check(await api.SendAsync("attack.swap", new HttpRequestMessage(HttpMethod.Post, $"files/{upload.FileId}/complete"), cancellationToken));
                if (completed is not { Ok: true }) { UncertainFiles.Add(upload.FileId); return; }
                Files[upload.FileId] = $"{Marker}-ledger-{n}.txt";
                if (Check(await api.SendAsync("attack.renew-after-complete", new HttpRequestMessage(HttpMethod.Post, $"files/{upload.FileId}/upload-url"), cancellationToken)) is { Ok: true })
                    api.Outcomes.Undesigned("attack.renew-after-complete", "a completed upload was given a new upload URL");
                await PutStagingAsync(upload.Url, Encoding.UTF8.GetBytes("swapped after complete"), cancellationToken);
                await PutStagingAsync(url, Encoding.UTF8.GetBytes("swapped after complete"), cancellationToken);
                var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(original));
                if (Check(await api.GetAsync("attack.swap", $"files/{upload.FileId}", cancellationToken)) is { Ok: true } file && file.Body.GetProperty("sha256").GetString() != sha)
                    api.Outcomes.Undesigned("attack.swap", "a write to the upload URL after complete changed the file");
                break;
            case 2 or 3:
                var (name, type, bytes) = Bombs[(n / 5 + index) % Bombs.Length];
                var request = new HttpRequestMessage(HttpMethod.Post, "files") { Content = new ByteArrayContent(bytes.Value) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue(type);
                request.Headers.Add("X-File-Name", $"{Marker}-{n}-{name}");
                var stored = Check(await api.SendAsync("attack.bomb", request, cancellationToken));
                if (stored is { Ok: true }) Files[stored.Body.GetProperty("id").GetString()!] = $"{Marker}-{n}-{name}";
                break;
            default:
                if (index != 0 || _sentHugeWebhook) return;
                _sentHugeWebhook = true;
                var huge = new HttpRequestMessage(HttpMethod.Post, "billing/webhook") { Content = new StreamContent(new ChunkedPadding(50L * 1024 * 1024)) };
                huge.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                huge.Headers.Add("Stripe-Signature", "t=1,v1=00");
                if (Check(await api.SendAsync("attack.webhook-50mb", huge, cancellationToken)) is { Ok: true })
                    api.Outcomes.Undesigned("attack.webhook-50mb", "a 50 MB webhook body was accepted");
                break;
        }
    }

    private bool _sentHugeWebhook;

    /// <summary>Makes the bombs before the load starts.</summary>
    public static void PrepareAttacks() => Parallel.ForEach(Bombs, bomb => _ = bomb.Bytes.Value);

    /// <summary>Bombs and nested documents, made once per run: about a MB each, past every bound when decompressed (512 MB a package, 64 MB a PDF stream).</summary>
    private static readonly (string Name, string Type, Lazy<byte[]> Bytes)[] Bombs =
    [
        ("bomb.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", new(() => HostileDocuments.OfficeBomb(HostileDocuments.Office.Docx, 600L << 20))),
        ("bomb.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", new(() => HostileDocuments.OfficeBomb(HostileDocuments.Office.Xlsx, 600L << 20))),
        ("bomb.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", new(() => HostileDocuments.OfficeBomb(HostileDocuments.Office.Pptx, 600L << 20))),
        ("bomb.pdf", "application/pdf", new(() => HostileDocuments.PdfBomb(256L << 20))),
        ("nested.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", new(() => HostileDocuments.OfficeBomb(HostileDocuments.Office.Docx, 10, nesting: 50_000))),
        ("nested.json", "application/json", new(() => Encoding.UTF8.GetBytes(new string('[', 100_000) + new string(']', 100_000)))),
    ];

    private async Task<(string FileId, string Url)?> BeginUploadAsync(string route, string name, long size, CancellationToken cancellationToken) =>
        Check(await api.SendJsonAsync(route, HttpMethod.Post, "files/uploads", new { name, contentType = "text/plain", size }, cancellationToken)) is { Ok: true } begun
            ? (begun.Body.GetProperty("fileId").GetString()!, begun.Body.GetProperty("uploadUrl").GetString()!)
            : null;

    /// <summary>Puts bytes at a direct upload's URL as a client would (Put Blob); false when storage did not take them (it may be down).</summary>
    private static async Task<bool> PutStagingAsync(string url, byte[] bytes, CancellationToken cancellationToken)
    {
        using var put = new HttpRequestMessage(HttpMethod.Put, url) { Content = new ByteArrayContent(bytes) };
        put.Headers.Add("x-ms-blob-type", "BlockBlob");
        try
        {
            using var response = await StorageClient.SendAsync(put, cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static readonly HttpClient StorageClient = new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>A JSON-looking body of the given length, made as it is read and sent without a length.</summary>
    private sealed class ChunkedPadding(long length) : Stream
    {
        private long _position;

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            buffer.AsSpan(offset, n).Fill((byte)' ');
            if (_position == 0 && n > 0) buffer[offset] = (byte)'{';
            _position += n;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>Any other user's marker in an answer is a leak; the marker of an organization the user is not signed in to is a cross-space leak.</summary>
    public Api.Answer? Check(Api.Answer? answer)
    {
        if (answer is null || answer.Body.ValueKind == JsonValueKind.Undefined) return answer;
        var text = answer.Body.GetRawText();
        foreach (Match match in MarkerPattern().Matches(text))
            if (match.Value != Marker) leaks.Enqueue($"user {index} saw {match.Value}: {text[..Math.Min(200, text.Length)]}");
        foreach (Match match in OrganizationMarkerPattern().Matches(text))
            if (membership is null || match.Value != OrganizationMarker(membership.Organization))
                spaceLeaks.Enqueue($"user {index} ({(membership is null ? "no organization" : OrganizationMarker(membership.Organization))}) saw {match.Value}: {text[..Math.Min(200, text.Length)]}");
        return answer;
    }

    [GeneratedRegex(@"mk\d{3}q")]
    private static partial Regex MarkerPattern();

    [GeneratedRegex(@"og\d{2}q")]
    private static partial Regex OrganizationMarkerPattern();
}
