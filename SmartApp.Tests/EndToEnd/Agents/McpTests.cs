using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace SmartApp.Tests.EndToEnd;

/// <summary>SmartApp's MCP server at <c>/api/mcp</c>, through the dev host, with the official MCP C# client.</summary>
[Collection(DevHostCollection.Name)]
public sealed class McpTests(DevHostFixture app)
{
    private static readonly string[] ToolNames = ["search_memory", "remember", "forget", "search_files", "ask_file", "list_tables", "query_data", "get_record"];

    private Uri Endpoint => new(app.Client.BaseAddress!, "mcp");

    /// <summary>The official client, signed in as the user whose token <paramref name="user"/> sends.</summary>
    internal static Task<McpClient> ConnectAsync(Uri endpoint, HttpClient user, string? protocolVersion = null) =>
        McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = endpoint,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = user.DefaultRequestHeaders.Authorization!.ToString() },
        }), new McpClientOptions { ProtocolVersion = protocolVersion });

    private static JsonElement Result(CallToolResult result) =>
        JsonDocument.Parse(result.Content.OfType<TextContentBlock>().Single().Text).RootElement.Clone();

    private static async Task<JsonElement> CallAsync(McpClient client, string tool, object arguments)
    {
        var result = await client.CallToolAsync(tool, JsonSerializer.Deserialize<Dictionary<string, object?>>(JsonSerializer.Serialize(arguments)));
        Assert.True(result.IsError is not true, $"{tool} failed: {Result(result)}");
        return Result(result);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("2025-06-18")]
    public async Task The_official_client_initializes_lists_the_tools_and_calls_each_one(string? protocolVersion)
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("mcp"));
        var file = await FileTests.UploadAsync(user, TestDocuments.Pdf(["Acme Kettle guide"], ["Warranty terms", "The warranty covers water damage for 24 months from purchase."]), "kettle.pdf", "application/pdf");
        var fileId = file.GetProperty("id").GetString()!;
        await FileTests.WaitForAsync(user, fileId, "indexed");
        using (var created = await user.PostAsJsonAsync("data/tables/books/records", new { id = "b1", title = "Dune", pages = 412 })) Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using (await user.PostAsJsonAsync("data/tables/books/records", new { id = "b2", title = "Emma", pages = 300 })) { }

        await using var client = await ConnectAsync(Endpoint, user, protocolVersion);
        Assert.Equal("smartapp", client.ServerInfo?.Name);
        var tools = await client.ListToolsAsync();
        Assert.Equal(ToolNames.Order(), tools.Select(t => t.Name).Order());
        Assert.All(tools, t => Assert.Equal("object", t.JsonSchema.GetProperty("type").GetString()));

        var remembered = await CallAsync(client, "remember", new { content = "The user's cat is called Miso" });
        var noteId = remembered.GetProperty("id").GetString()!;
        var memories = await CallAsync(client, "search_memory", new { query = "what is the cat's name" });
        Assert.Contains(memories.GetProperty("memories").EnumerateArray(), m => m.GetProperty("id").GetString() == noteId);
        var forgotten = await CallAsync(client, "forget", new { id = noteId });
        Assert.Equal(noteId, forgotten.GetProperty("forgotten").GetString());
        using (var gone = await user.GetAsync($"memory/documents/{noteId}")) Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);

        var passages = await CallAsync(client, "search_files", new { query = "water damage warranty" });
        Assert.Contains(passages.GetProperty("passages").EnumerateArray(), p => p.GetProperty("fileId").GetString() == fileId && p.GetProperty("page").GetInt32() == 2);
        var answer = await CallAsync(client, "ask_file", new { fileId, question = "Does the warranty cover water damage?" });
        Assert.False(string.IsNullOrWhiteSpace(answer.GetProperty("answer").GetString()));
        Assert.Contains(answer.GetProperty("passages").EnumerateArray(), p => p.GetProperty("text").GetString()!.Contains("water damage"));

        var tables = await CallAsync(client, "list_tables", new { });
        Assert.Contains(tables.GetProperty("tables").EnumerateArray(), t => t.GetProperty("name").GetString() == "books" && t.GetProperty("rows").GetInt32() == 2);
        var long_ = await CallAsync(client, "query_data", new { table = "books", where = new[] { new { field = "pages", op = "gt", value = 400 } } });
        Assert.Equal(["Dune"], long_.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("data").GetProperty("title").GetString()));
        var record = await CallAsync(client, "get_record", new { table = "books", id = "b2" });
        Assert.Equal("Emma", record.GetProperty("data").GetProperty("title").GetString());

        // Resources: the user's files, and any memory document by its id.
        var listed = await client.ListResourcesAsync();
        var fileUri = $"smartapp://files/{fileId}";
        Assert.Contains(listed, r => r.Uri == fileUri && r.Name == "kettle.pdf");
        Assert.Contains(await client.ListResourceTemplatesAsync(), t => t.UriTemplate == "smartapp://memory/documents/{documentId}");
        var fileResource = JsonDocument.Parse(((TextResourceContents)(await client.ReadResourceAsync(fileUri)).Contents.Single()).Text).RootElement;
        Assert.Equal("kettle.pdf", fileResource.GetProperty("name").GetString());
        Assert.Equal("indexed", fileResource.GetProperty("status").GetString());
        using (var download = await new HttpClient().GetAsync(fileResource.GetProperty("downloadUrl").GetString()))
            Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        var kept = await CallAsync(client, "remember", new { content = "The user's dog is called Biscuit" });
        var documentUri = $"smartapp://memory/documents/{kept.GetProperty("id").GetString()}";
        var document = ((TextResourceContents)(await client.ReadResourceAsync(documentUri)).Contents.Single()).Text;
        Assert.Contains("Biscuit", document);

        // A refusal is a tool error the client can show, not a protocol failure.
        var invalid = await client.CallToolAsync("query_data", new Dictionary<string, object?> { ["table"] = "books", ["where"] = JsonDocument.Parse("""[{"field":"x; DROP","op":"eq","value":1}]""").RootElement });
        Assert.True(invalid.IsError);
        Assert.Contains("field", Result(invalid).GetProperty("error").GetString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_members_tools_read_the_organizations_tables_and_files_and_an_outsiders_do_not()
    {
        var organization = OrganizationSpaceTests.NewOrganization();
        var admin = await OrganizationSpaceTests.MemberAsync(app, TestUsers.NewEmail("mcp-org-admin"), organization, "admin");
        var member = await OrganizationSpaceTests.MemberAsync(app, TestUsers.NewEmail("mcp-org-member"), organization, "member");
        var outsider = await OrganizationSpaceTests.MemberAsync(app, TestUsers.NewEmail("mcp-org-outsider"), OrganizationSpaceTests.NewOrganization(), "admin");
        using (var created = await admin.PostAsJsonAsync("data/tables/stock/records?space=org", new { id = "s1", item = "rope", count = 12 }))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        await using (var client = await ConnectAsync(Endpoint, member))
        {
            var tables = await CallAsync(client, "list_tables", new { });
            Assert.Equal([("stock", "org")], tables.GetProperty("tables").EnumerateArray().Select(t => (t.GetProperty("name").GetString(), t.GetProperty("space").GetString())));
            var rows = await CallAsync(client, "query_data", new { table = "stock", space = "org" });
            Assert.Equal(["rope"], rows.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("data").GetProperty("item").GetString()));
            Assert.Equal(12, (await CallAsync(client, "get_record", new { table = "stock", id = "s1", space = "org" })).GetProperty("data").GetProperty("count").GetInt32());
            Assert.True((await client.CallToolAsync("query_data", new Dictionary<string, object?> { ["table"] = "stock" })).IsError); // not in the member's own space
        }
        await using (var client = await ConnectAsync(Endpoint, outsider))
        {
            Assert.Empty((await CallAsync(client, "list_tables", new { })).GetProperty("tables").EnumerateArray());
            var refused = await client.CallToolAsync("query_data", new Dictionary<string, object?> { ["table"] = "stock", ["space"] = "org" });
            Assert.True(refused.IsError);
            Assert.DoesNotContain("rope", Result(refused).GetRawText());
        }
    }

    [Fact]
    public async Task Without_a_token_the_answer_is_401_naming_the_protected_resource_metadata()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "mcp")
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        using var response = await app.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized, "unauthorized");
        var challenge = response.Headers.WwwAuthenticate.Single();
        Assert.Equal("Bearer", challenge.Scheme);
        var metadataUrl = System.Text.RegularExpressions.Regex.Match(challenge.Parameter!, "resource_metadata=\"([^\"]+)\"").Groups[1].Value;
        Assert.EndsWith("/api/.well-known/oauth-protected-resource", metadataUrl);

        var metadata = await app.Client.GetFromJsonAsync<JsonElement>(metadataUrl);
        Assert.Equal(Endpoint.ToString(), metadata.GetProperty("resource").GetString());
        Assert.Equal(["header"], metadata.GetProperty("bearer_methods_supported").EnumerateArray().Select(m => m.GetString()));

        // The official client without a token cannot connect.
        var transport = new HttpClientTransport(new HttpClientTransportOptions { Endpoint = Endpoint, TransportMode = HttpTransportMode.StreamableHttp });
        await Assert.ThrowsAnyAsync<Exception>(() => McpClient.CreateAsync(transport));
    }

    [Fact]
    public async Task Hostile_messages_get_designed_answers_and_change_nothing()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("mcp-hostile"));
        async Task<(HttpStatusCode Status, string Body, string? Type)> SendAsync(string json, string accept = "application/json, text/event-stream", string? version = "2025-06-18")
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "mcp") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
            request.Headers.Accept.ParseAdd(accept);
            if (version is not null) request.Headers.Add("MCP-Protocol-Version", version);
            using var response = await user.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync(), response.Content.Headers.ContentType?.MediaType);
        }

        // Refused at the HTTP edge with a ProblemDetails: not JSON-RPC, not both media types accepted, too deep, too big.
        foreach (var (json, accept) in new[]
        {
            ("""{"hello":"world"}""", "application/json, text/event-stream"),
            ("""[1,2,3]""", "application/json, text/event-stream"),
            ("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}""", "application/json"),
            ("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":" + new string('[', 200) + new string(']', 200) + "}", "application/json, text/event-stream"),
            ("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"search_memory\",\"arguments\":{\"query\":\"" + new string('x', 2 * 1024 * 1024) + "\"}}}", "application/json, text/event-stream"),
        })
        {
            var (status, body, type) = await SendAsync(json, accept);
            Assert.True(status is HttpStatusCode.BadRequest or HttpStatusCode.RequestEntityTooLarge, $"{status} {body[..Math.Min(200, body.Length)]}");
            Assert.Equal("application/problem+json", type);
        }

        // Understood as MCP, answered with a JSON-RPC error or a tool error: unknown method, unknown tool, arguments of the wrong shape or size.
        foreach (var json in new[]
        {
            """{"jsonrpc":"2.0","id":1,"method":"no/such/method","params":{}}""",
            """{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"drop_everything","arguments":{}}}""",
            """{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"query_data","arguments":{"table":"x","where":"not a list"}}}""",
            """{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"search_memory","arguments":{"query":12}}}""",
            """{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"get_record","arguments":{"table":"../../etc","id":"' OR 1=1"}}}""",
            "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{\"name\":\"remember\",\"arguments\":{\"content\":\"" + new string('y', 40_000) + "\"}}}",
        })
        {
            var (status, body, _) = await SendAsync(json);
            Assert.True(status == HttpStatusCode.OK, $"{status} {body[..Math.Min(300, body.Length)]}");
            Assert.True(body.Contains("\"error\"", StringComparison.Ordinal) || body.Contains("\"isError\":true", StringComparison.Ordinal), body[..Math.Min(300, body.Length)]);
        }

        // Nothing was kept.
        var memories = await user.PostAsJsonAsync("memory/search", new { terms = new string('y', 20) });
        Assert.Empty((await memories.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results").EnumerateArray());
        var tables = await user.GetFromJsonAsync<JsonElement>("data/tables");
        Assert.Empty(tables.GetProperty("tables").EnumerateArray());
    }

    [Fact]
    public async Task Tool_calls_count_toward_the_plans_daily_allowance_and_past_it_are_refused_as_tool_errors()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("mcp-quota"));
        await using var client = await ConnectAsync(Endpoint, user);
        for (var i = 0; i < DevHostFixture.FreeToolCallsPerDay; i++) await CallAsync(client, "list_tables", new { });
        var refused = await client.CallToolAsync("list_tables", new Dictionary<string, object?>());
        Assert.True(refused.IsError);
        Assert.Contains($"allows {DevHostFixture.FreeToolCallsPerDay} tool calls a day", Result(refused).GetProperty("error").GetString());
        var subscription = await user.GetFromJsonAsync<JsonElement>("billing/subscription");
        Assert.Equal(DevHostFixture.FreeToolCallsPerDay, subscription.GetProperty("entitlements").GetProperty("toolCallsPerDay").GetInt32());
        Assert.Equal(DevHostFixture.FreeToolCallsPerDay + 1, subscription.GetProperty("usage").GetProperty("toolCallsToday").GetInt64()); // the refused call is counted too

        // Chat turns share the allowance: the model's call is refused too, and the turn is still answered.
        var marker = "QUOTA" + Guid.NewGuid().ToString("N")[..8];
        app.Model.Script(marker, new FakeToolCall("search_memory", """{"query":"anything"}"""));
        var conversation = await ChatTests.StartAsync(user);
        var events = await ChatTests.StreamAsync(user, conversation, new { content = $"{marker} What do you know?" });
        var result = events.Single(e => e.Event == "tool_result").Data.GetProperty("result");
        Assert.Contains("tool calls a day", result.GetProperty("error").GetString());
        Assert.Equal("done", events[^1].Event);
    }

    [Fact]
    public async Task Two_users_see_only_their_own_data()
    {
        var (alice, _) = await app.SignInAsync(TestUsers.NewEmail("mcp-alice"));
        var (bob, _) = await app.SignInAsync(TestUsers.NewEmail("mcp-bob"));
        var marker = "Zanzibar" + Guid.NewGuid().ToString("N")[..8];
        using (await alice.PostAsJsonAsync("data/tables/notes/records", new { id = "n1", text = $"alice secret {marker}" })) { }
        using (await alice.PostAsJsonAsync("memory/documents", new { document = new { text = $"Alice keeps her spare key under the {marker} pot" } })) { }
        using (await bob.PostAsJsonAsync("data/tables/notes/records", new { id = "n2", text = "bob's note" })) { }

        await using var asBob = await ConnectAsync(Endpoint, bob);
        var memories = await CallAsync(asBob, "search_memory", new { query = $"spare key {marker} pot" });
        Assert.DoesNotContain(marker, memories.GetRawText());
        var tables = await CallAsync(asBob, "list_tables", new { });
        Assert.Equal(1, tables.GetProperty("tables").EnumerateArray().Single(t => t.GetProperty("name").GetString() == "notes").GetProperty("rows").GetInt32());
        var notes = await CallAsync(asBob, "query_data", new { table = "notes" });
        Assert.Equal(["n2"], notes.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("id").GetString()));
        var theirs = await asBob.CallToolAsync("get_record", new Dictionary<string, object?> { ["table"] = "notes", ["id"] = "n1" });
        Assert.True(theirs.IsError);
        Assert.Equal("No such record.", Result(theirs).GetProperty("error").GetString());

        var aliceDocs = await alice.PostAsJsonAsync("memory/search", new { terms = $"spare key {marker}", kinds = new[] { "semantic" } });
        var aliceDocId = (await aliceDocs.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results")[0].GetProperty("documentId").GetString();
        await Assert.ThrowsAsync<ModelContextProtocol.McpProtocolException>(() => asBob.ReadResourceAsync($"smartapp://memory/documents/{aliceDocId}").AsTask());
        Assert.DoesNotContain(await asBob.ListResourcesAsync(), r => r.Name.Contains(marker, StringComparison.Ordinal));

        await using var asAlice = await ConnectAsync(Endpoint, alice);
        var own = await CallAsync(asAlice, "get_record", new { table = "notes", id = "n1" });
        Assert.Contains(marker, own.GetRawText());
    }
}
