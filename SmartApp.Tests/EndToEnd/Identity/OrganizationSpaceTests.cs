using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace SmartApp.Tests.EndToEnd;

/// <summary>
/// An organization's space through the dev host, the real worker and the emulators: members signed in (demo mode) to one
/// organization with a role share its files; another organization, a user with none, and a member whose next token has
/// none see nothing of it through any route; writes take the role's permission; each space counts against its own plan.
/// </summary>
[Collection(DevHostCollection.Name)]
public sealed class OrganizationSpaceTests(DevHostFixture app)
{
    internal static string NewOrganization() => "org_" + Guid.NewGuid().ToString("N");

    /// <summary>Signs in (demo) as a member of <paramref name="organization"/> with <paramref name="role"/>, or outside any organization when null.</summary>
    internal static async Task<HttpClient> MemberAsync(DevHostFixture app, string email, string? organization, string role = "member", params string[] permissions) =>
        (await app.SignInAsync(organization is null
            ? new { email, name = "Member" }
            : (object)new { email, name = "Member", organizationId = organization, role, permissions })).Client;

    internal static async Task<HttpResponseMessage> UploadAsync(HttpClient user, string text, string name, string? space, string contentType = "text/plain")
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(text));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        using var request = new HttpRequestMessage(HttpMethod.Post, space is null ? "files" : $"files?space={space}") { Content = content };
        request.Headers.Add("X-File-Name", name);
        return await user.SendAsync(request);
    }

    private static async Task<string> UploadedAsync(HttpClient user, string text, string name, string? space, string expectedSpace, string contentType = "text/plain")
    {
        using var response = await UploadAsync(user, text, name, space, contentType);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body.ToString());
        Assert.Equal(expectedSpace, body.GetProperty("space").GetString());
        return body.GetProperty("id").GetString()!;
    }

    private static async Task<List<string>> ListedAsync(HttpClient user, string? space = null)
    {
        var ids = new List<string>();
        string? cursor = null;
        do
        {
            var query = new List<string> { "limit=2" };
            if (space is not null) query.Add("space=" + space);
            if (cursor is not null) query.Add("cursor=" + Uri.EscapeDataString(cursor));
            var page = await user.GetFromJsonAsync<JsonElement>("files?" + string.Join('&', query));
            ids.AddRange(page.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("id").GetString()!));
            cursor = page.TryGetProperty("cursor", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        }
        while (cursor is not null);
        return ids;
    }

    [Fact]
    public async Task Members_share_the_organizations_files_in_search_and_chat_and_no_one_else_sees_them()
    {
        var organization = NewOrganization();
        var adminEmail = TestUsers.NewEmail("org-admin");
        var admin = await MemberAsync(app, adminEmail, organization, "admin");
        var memberEmail = TestUsers.NewEmail("org-member");
        var member = await MemberAsync(app, memberEmail, organization, "member");
        var otherOrganization = await MemberAsync(app, TestUsers.NewEmail("org-other"), NewOrganization(), "admin");
        var noOrganization = await MemberAsync(app, TestUsers.NewEmail("org-none"), null);

        var shared = await UploadedAsync(admin, "Team handbook. The ferry to Inchcolm leaves from Hawes Pier at nine.", "handbook.txt", "org", "org");
        var own = await UploadedAsync(admin, "Personal notes. My ferry ticket number is 4417.", "notes.txt", null, "personal");
        await FileTests.WaitForAsync(admin, shared, "indexed");
        await FileTests.WaitForAsync(admin, own, "indexed");

        // A member without files:write reads the organization's space but cannot change it; nothing is added.
        var refused = await UploadAsync(member, "Member's attempt about the ferry.", "attempt.txt", "org");
        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Forbidden, "forbidden");
        Assert.Contains("files:write", problem.GetProperty("detail").GetString());
        await ProblemAssert.IsProblemAsync(await member.DeleteAsync($"files/{shared}"), HttpStatusCode.Forbidden, "forbidden");
        using (var begin = await member.PostAsJsonAsync("files/uploads?space=org", new { name = "big.txt", contentType = "text/plain", size = 10 }))
            await ProblemAssert.IsProblemAsync(begin, HttpStatusCode.Forbidden, "forbidden");
        Assert.Equal([shared], await ListedAsync(member, "org"));
        Assert.Equal([shared], await ListedAsync(member)); // the member has nothing of their own
        Assert.Equal("org", (await member.GetFromJsonAsync<JsonElement>($"files/{shared}")).GetProperty("space").GetString());

        // Both members find the organization's file; only its owner finds the personal one. Each citation names its space.
        var memberHits = await FileTests.SearchAsync(member, new { query = "ferry" });
        Assert.Equal([(shared, "org")], memberHits.Select(h => (h.GetProperty("fileId").GetString(), h.GetProperty("space").GetString())).Distinct());
        var adminHits = await FileTests.SearchAsync(admin, new { query = "ferry" });
        Assert.Equal(new[] { (own, "personal"), (shared, "org") }.Order(), adminHits.Select(h => (h.GetProperty("fileId").GetString()!, h.GetProperty("space").GetString()!)).Distinct().Order());
        Assert.Equal([shared], (await FileTests.SearchAsync(member, new { query = "ferry", fileIds = new[] { shared } })).Select(h => h.GetProperty("fileId").GetString()).Distinct());
        using (var ask = await member.PostAsJsonAsync($"files/{shared}/ask", new { question = "Where does the ferry leave from?" }))
            Assert.Equal(HttpStatusCode.OK, ask.StatusCode);

        var conversation = await ChatTests.StartAsync(member);
        using (var turn = await member.PostAsJsonAsync($"chat/conversations/{conversation}/messages", new { content = "When does the ferry to Inchcolm leave?", useMemory = false }))
        {
            var body = await turn.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(turn.StatusCode == HttpStatusCode.OK, body.ToString());
            var citations = body.GetProperty("citations").EnumerateArray().ToList();
            Assert.Contains(citations, c => c.GetProperty("fileId").GetString() == shared && c.GetProperty("space").GetString() == "org");
            Assert.DoesNotContain(citations, c => c.GetProperty("fileId").GetString() == own);
        }
        Assert.DoesNotContain("4417", app.Model.Requests.Last().ToJsonString()); // the member's model never saw the admin's own notes

        // A direct upload of the organization's under way: a new URL for it takes files:write.
        string pending;
        using (var begun = await admin.PostAsJsonAsync("files/uploads?space=org", new { name = "pending.txt", contentType = "text/plain", size = 10 }))
            pending = (await begun.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("fileId").GetString()!;
        using (var renewed = await admin.PostAsync($"files/{pending}/upload-url", null)) Assert.Equal(HttpStatusCode.OK, renewed.StatusCode);
        await ProblemAssert.IsProblemAsync(await member.PostAsync($"files/{pending}/upload-url", null), HttpStatusCode.Forbidden, "forbidden");

        // Another organization's admin, a user with no organization, and the member signed in again without it: nothing, by any route.
        var memberOutside = await MemberAsync(app, memberEmail, null); // the same member, removed from the organization: their next token has no org_id
        foreach (var outsider in new[] { otherOrganization, noOrganization, memberOutside })
        {
            await ProblemAssert.IsProblemAsync(await outsider.PostAsync($"files/{pending}/upload-url", null), HttpStatusCode.NotFound, "not-found");
            foreach (var id in new[] { shared, own })
            {
                foreach (var path in new[] { $"files/{id}", $"files/{id}/content" })
                    await ProblemAssert.IsProblemAsync(await outsider.GetAsync(path), HttpStatusCode.NotFound, "not-found");
                await ProblemAssert.IsProblemAsync(await outsider.DeleteAsync($"files/{id}"), HttpStatusCode.NotFound, "not-found");
                await ProblemAssert.IsProblemAsync(await outsider.PostAsJsonAsync($"files/{id}/ask", new { question = "ferry?" }), HttpStatusCode.NotFound, "not-found");
                await ProblemAssert.IsProblemAsync(await outsider.PostAsJsonAsync($"files/{id}/retry", new { }), HttpStatusCode.NotFound, "not-found");
                await ProblemAssert.IsProblemAsync(await outsider.PostAsJsonAsync("files/search", new { query = "ferry", fileIds = new[] { id } }), HttpStatusCode.NotFound, "not-found");
            }
            Assert.Empty(await FileTests.SearchAsync(outsider, new { query = "ferry Inchcolm Hawes Pier" }));
            Assert.DoesNotContain(shared, await ListedAsync(outsider));
        }
        // Outside an organization there is no organization space to name.
        await ProblemAssert.IsProblemAsync(await noOrganization.GetAsync("files?space=org"), HttpStatusCode.Forbidden, "forbidden");
        await ProblemAssert.IsProblemAsync(await UploadAsync(noOrganization, "x", "x.txt", "org"), HttpStatusCode.Forbidden, "forbidden");
        await ProblemAssert.IsProblemAsync(await noOrganization.GetAsync("files?space=team"), HttpStatusCode.BadRequest, "validation");

        // The admin may change it: the file goes for every member.
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"files/{shared}")).StatusCode);
        Assert.Equal([pending], await ListedAsync(member)); // what is left of the organization's: the upload under way
    }

    [Fact]
    public async Task The_organizations_plan_limits_its_space_and_each_members_own_plan_limits_theirs()
    {
        var organization = NewOrganization();
        var admin = await MemberAsync(app, TestUsers.NewEmail("org-quota"), organization, "admin");
        var writer = await MemberAsync(app, TestUsers.NewEmail("org-writer"), organization, "member", "files:write");
        for (var i = 0; i < DevHostFixture.FreeFiles; i++)
            await UploadedAsync(i % 2 == 0 ? admin : writer, $"record {i}", $"record-{i}.bin", "org", "org", "application/octet-stream");

        // The organization's space is full on its (free) plan, whoever uploads ...
        foreach (var who in new[] { admin, writer })
        {
            var over = await UploadAsync(who, "one more", "more.bin", "org", "application/octet-stream");
            await ProblemAssert.IsProblemAsync(over, HttpStatusCode.PaymentRequired, "quota-exceeded");
        }
        Assert.Equal(DevHostFixture.FreeFiles, (await ListedAsync(admin, "org")).Count);

        // ... while each member's own space still has all of theirs.
        await UploadedAsync(admin, "mine", "mine.bin", null, "personal", "application/octet-stream");
        await UploadedAsync(writer, "mine", "mine.bin", "personal", "personal", "application/octet-stream");
        Assert.Single(await ListedAsync(writer, "personal"));
        Assert.Equal(DevHostFixture.FreeFiles + 1, (await ListedAsync(writer)).Count);
    }

    [Fact]
    public async Task The_organizations_tables_are_read_by_every_member_and_changed_only_with_data_write()
    {
        var organization = NewOrganization();
        var admin = await MemberAsync(app, TestUsers.NewEmail("data-admin"), organization, "admin");
        var reader = await MemberAsync(app, TestUsers.NewEmail("data-reader"), organization, "member");
        var editor = await MemberAsync(app, TestUsers.NewEmail("data-editor"), organization, "member", "data:write");
        var outsider = await MemberAsync(app, TestUsers.NewEmail("data-outsider"), NewOrganization(), "admin");
        var loner = await MemberAsync(app, TestUsers.NewEmail("data-loner"), null);

        using (var created = await admin.PostAsJsonAsync("data/tables/tasks/records?space=org", new { id = "t1", title = "Paint the boathouse", done = false }))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        // The same table and id in the admin's own space is another record.
        using (var mine = await admin.PostAsJsonAsync("data/tables/tasks/records", new { id = "t1", title = "Buy milk" }))
            Assert.Equal(HttpStatusCode.Created, mine.StatusCode);

        var shared = await reader.GetFromJsonAsync<JsonElement>("data/tables/tasks/records/t1?space=org");
        Assert.Equal("Paint the boathouse", shared.GetProperty("data").GetProperty("title").GetString());
        await ProblemAssert.IsProblemAsync(await reader.GetAsync("data/tables/tasks/records/t1"), HttpStatusCode.NotFound, "not-found"); // not in the reader's own
        var tables = (await reader.GetFromJsonAsync<JsonElement>("data/tables")).GetProperty("tables").EnumerateArray()
            .Select(t => (t.GetProperty("name").GetString(), t.GetProperty("space").GetString(), t.GetProperty("rows").GetInt64())).ToList();
        Assert.Equal([("tasks", "org", 1L)], tables);
        using (var query = await reader.PostAsJsonAsync("data/tables/tasks/query?space=org", new { where = new[] { new { field = "done", op = "eq", value = false } } }))
            Assert.Single((await query.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray());

        // A reader is refused every change, and nothing changes; a member granted data:write may.
        foreach (var refused in new[]
        {
            await reader.PostAsJsonAsync("data/tables/tasks/records?space=org", new { id = "t2", title = "x" }),
            await reader.PatchAsJsonAsync("data/tables/tasks/records/t1?space=org", new { done = true }),
            await reader.PutAsJsonAsync("data/tables/tasks/records/t1?space=org", new { title = "x" }),
            await reader.DeleteAsync("data/tables/tasks/records/t1?space=org"),
            await reader.DeleteAsync("data/tables/tasks?space=org"),
        })
        {
            var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Forbidden, "forbidden");
            Assert.Contains("data:write", problem.GetProperty("detail").GetString());
        }
        Assert.False((await admin.GetFromJsonAsync<JsonElement>("data/tables/tasks/records/t1?space=org")).GetProperty("data").GetProperty("done").GetBoolean());
        using (var patched = await editor.PatchAsJsonAsync("data/tables/tasks/records/t1?space=org", new { done = true }))
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        Assert.True((await admin.GetFromJsonAsync<JsonElement>("data/tables/tasks/records/t1?space=org")).GetProperty("data").GetProperty("done").GetBoolean());

        // Another organization's admin reads their own organization's (empty) space; a user with none has no organization space.
        await ProblemAssert.IsProblemAsync(await outsider.GetAsync("data/tables/tasks/records/t1?space=org"), HttpStatusCode.NotFound, "not-found");
        Assert.Empty((await outsider.GetFromJsonAsync<JsonElement>("data/tables")).GetProperty("tables").EnumerateArray());
        await ProblemAssert.IsProblemAsync(await loner.GetAsync("data/tables/tasks/records/t1?space=org"), HttpStatusCode.Forbidden, "forbidden");
        await ProblemAssert.IsProblemAsync(await loner.PostAsJsonAsync("data/tables/tasks/query?space=org", new { }), HttpStatusCode.Forbidden, "forbidden");
        Assert.Empty((await loner.GetFromJsonAsync<JsonElement>("data/tables")).GetProperty("tables").EnumerateArray());
        Assert.Equal("Buy milk", (await admin.GetFromJsonAsync<JsonElement>("data/tables/tasks/records/t1")).GetProperty("data").GetProperty("title").GetString());
    }

    [Fact]
    public async Task An_admin_exports_the_organizations_space_and_a_members_export_is_their_own()
    {
        var organization = NewOrganization();
        var admin = await MemberAsync(app, TestUsers.NewEmail("export-admin"), organization, "admin");
        var member = await MemberAsync(app, TestUsers.NewEmail("export-member"), organization, "member");
        var shared = await UploadedAsync(admin, "The organization's minutes.", "minutes.txt", "org", "org");
        var own = await UploadedAsync(admin, "The admin's own diary.", "diary.txt", null, "personal");
        using (var record = await admin.PostAsJsonAsync("data/tables/budget/records?space=org", new { id = "q1", amount = 1200 }))
            Assert.Equal(HttpStatusCode.Created, record.StatusCode);

        using var response = await admin.GetAsync("me/export?space=org");
        var export = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, export.ToString());
        Assert.Equal(organization, export.GetProperty("organizationId").GetString());
        Assert.False(export.TryGetProperty("userId", out _));
        var text = export.GetRawText();
        Assert.Contains(shared, text);
        Assert.Contains("\"amount\":1200", text);
        Assert.DoesNotContain(own, text);

        await ProblemAssert.IsProblemAsync(await member.GetAsync("me/export?space=org"), HttpStatusCode.Forbidden, "forbidden");
        var memberExport = (await member.GetFromJsonAsync<JsonElement>("me/export")).GetRawText();
        Assert.DoesNotContain(shared, memberExport);
        Assert.DoesNotContain(organization, memberExport);
    }

    [Fact]
    public async Task The_organizations_documents_and_procedures_are_every_members_memory_and_changed_only_with_memory_write()
    {
        var organization = NewOrganization();
        var admin = await MemberAsync(app, TestUsers.NewEmail("memory-admin"), organization, "admin");
        var member = await MemberAsync(app, TestUsers.NewEmail("memory-member"), organization, "member");
        var outsider = await MemberAsync(app, TestUsers.NewEmail("memory-outsider"), NewOrganization(), "admin");
        var loner = await MemberAsync(app, TestUsers.NewEmail("memory-loner"), null);

        string documentId;
        using (var put = await admin.PostAsJsonAsync("memory/documents?space=org", new { document = new { text = "The office wifi password is pelican-forty-two." } }))
            documentId = (await put.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("documentId").GetString()!;
        using (var procedure = await admin.PutAsJsonAsync("memory/procedures/greeting?space=org", new { value = "Greet every customer in Gaelic." }))
            Assert.Equal("org", (await procedure.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("space").GetString());

        // Every member reads them and finds them in search and chat; changing them takes memory:write.
        Assert.Equal("org", (await member.GetFromJsonAsync<JsonElement>($"memory/documents/{documentId}")).GetProperty("space").GetString());
        Assert.Equal("Greet every customer in Gaelic.", (await member.GetFromJsonAsync<JsonElement>("memory/procedures/greeting?space=org")).GetProperty("value").GetString());
        await ProblemAssert.IsProblemAsync(await member.GetAsync("memory/procedures/greeting"), HttpStatusCode.NotFound, "not-found"); // not in the member's own
        Assert.Equal([("greeting", "org")], (await member.GetFromJsonAsync<JsonElement>("memory/procedures")).GetProperty("procedures").EnumerateArray()
            .Select(p => (p.GetProperty("key").GetString(), p.GetProperty("space").GetString())));
        foreach (var refused in new[]
        {
            await member.PostAsJsonAsync("memory/documents?space=org", new { document = new { text = "x" } }),
            await member.DeleteAsync($"memory/documents/{documentId}"),
            await member.PutAsJsonAsync("memory/procedures/greeting?space=org", new { value = "Greet in Latin." }),
            await member.DeleteAsync("memory/procedures/greeting?space=org"),
        })
            Assert.Contains("memory:write", (await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Forbidden, "forbidden")).GetProperty("detail").GetString());

        using (var search = await member.PostAsJsonAsync("memory/search", new { terms = "office wifi password" }))
        {
            var results = (await search.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results").EnumerateArray().ToList();
            Assert.Contains(results, r => r.GetProperty("id").GetString() == documentId && r.GetProperty("space").GetString() == "org");
        }
        var conversation = await ChatTests.StartAsync(member);
        using (var turn = await member.PostAsJsonAsync($"chat/conversations/{conversation}/messages", new { content = "What is the office wifi password?", useFiles = false }))
        {
            var body = await turn.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(turn.StatusCode == HttpStatusCode.OK, body.ToString());
            Assert.Contains(body.GetProperty("citations").EnumerateArray(), c => c.GetProperty("type").GetString() == "memory"
                && c.GetProperty("memoryId").GetString() == documentId && c.GetProperty("space").GetString() == "org");
        }

        // No one outside the organization reads or finds them.
        foreach (var stranger in new[] { outsider, loner })
        {
            await ProblemAssert.IsProblemAsync(await stranger.GetAsync($"memory/documents/{documentId}"), HttpStatusCode.NotFound, "not-found");
            await ProblemAssert.IsProblemAsync(await stranger.DeleteAsync($"memory/documents/{documentId}"), HttpStatusCode.NotFound, "not-found");
            using var search = await stranger.PostAsJsonAsync("memory/search", new { terms = "office wifi password pelican" });
            Assert.DoesNotContain("pelican", await search.Content.ReadAsStringAsync());
            Assert.DoesNotContain("Gaelic", await (await stranger.GetAsync("memory/procedures")).Content.ReadAsStringAsync());
        }
        await ProblemAssert.IsProblemAsync(await outsider.GetAsync("memory/procedures/greeting?space=org"), HttpStatusCode.NotFound, "not-found");
        await ProblemAssert.IsProblemAsync(await loner.GetAsync("memory/procedures?space=org"), HttpStatusCode.Forbidden, "forbidden");

        // The admin may change them.
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"memory/documents/{documentId}")).StatusCode);
        await ProblemAssert.IsProblemAsync(await member.GetAsync($"memory/documents/{documentId}"), HttpStatusCode.NotFound, "not-found");
    }
}
