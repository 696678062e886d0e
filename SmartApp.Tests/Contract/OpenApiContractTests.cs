using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Microsoft.Azure.Functions.Worker;
using SmartApp.Tests.EndToEnd;
using static SmartApp.Tests.EndToEnd.AnswerAssert;

namespace SmartApp.Tests.Contract;

/// <summary>
/// The OpenAPI document cannot drift from the code: every operation in it is called on the running
/// app (through the dev host and the real worker), and every answer's status and body must be what
/// the document says; every HTTP function is in the document.
/// </summary>
[Collection(DevHostCollection.Name)]
public sealed class OpenApiContractTests(DevHostFixture app)
{
    private async Task<OpenApiContract> ContractAsync()
    {
        using var response = await app.Client.GetAsync("openapi.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.StartsWith("3.1", document.GetProperty("openapi").GetString());
        return new OpenApiContract(document);
    }

    private HttpClient Client(OpenApiContract contract, string? token = null)
    {
        var client = new HttpClient(contract.Handler()) { BaseAddress = app.Client.BaseAddress, Timeout = TimeSpan.FromSeconds(100) };
        if (token is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    [Fact]
    public async Task Every_function_route_is_in_the_document()
    {
        var contract = await ContractAsync();
        var documented = contract.Routes.Select(r => $"{r.Method} /{r.Path.TrimStart('/')}").ToHashSet();
        var functions = typeof(SmartApp.Functions.Http.ProblemWriter).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods())
            .Where(m => m.GetCustomAttribute<FunctionAttribute>() is not null)
            .SelectMany(m => m.GetParameters().Select(p => p.GetCustomAttribute<HttpTriggerAttribute>()).OfType<HttpTriggerAttribute>())
            .Where(t => t.Route is not "{*path}" and not "diagnostics/fault") // the catch-all 404; a fault route for tests, off in deployments
            .SelectMany(t => t.Methods!.Select(method => $"{method.ToUpperInvariant()} /{t.Route}"))
            .ToList();
        Assert.NotEmpty(functions);
        Assert.Equal([], functions.Where(f => !documented.Contains(f)).ToArray()); // a function the document lacks
        Assert.Equal([], documented.Where(d => !functions.Contains(d)).ToArray()); // a documented route no function serves
    }

    [Fact]
    public async Task The_ready_made_requests_cover_every_operation_but_the_browser_and_Stripe_only_ones()
    {
        var contract = await ContractAsync();
        var file = Path.Combine(BuildMetadata.RepositoryRoot, "requests", "smartapp.http");
        var requests = File.ReadLines(file)
            .Select(line => System.Text.RegularExpressions.Regex.Match(line, @"^(GET|POST|PUT|PATCH|DELETE) \{\{baseUrl\}\}(/[^?\s]*)"))
            .Where(m => m.Success)
            .Select(m => (Method: m.Groups[1].Value, Path: System.Text.RegularExpressions.Regex.Replace(m.Groups[2].Value, @"\{\{[^}]+\}\}", "x")))
            .ToList();
        // Sign-in redirects, the code exchange and the console are for browsers and apps; the webhook is Stripe's.
        var notForRequests = new HashSet<string> { "webSignIn", "webSignInCallback", "exchangeToken", "stripeWebhook", "getConsole", "getConsoleAsset" };
        var missing = contract.Operations
            .Where(o => !notForRequests.Contains(o.Id))
            .Where(o => !requests.Any(r => r.Method == o.Method && o.Pattern.IsMatch(r.Path)))
            .Select(o => o.Id).ToArray();
        Assert.Equal([], missing);
    }

    [Fact]
    public async Task Every_operation_answers_as_the_document_says()
    {
        var contract = await ContractAsync();
        var anonymous = Client(contract);

        // Identity (demo mode: the WorkOS routes answer 404).
        var signIn = await JsonAsync(anonymous.PostAsJsonAsync("auth/demo", new { email = TestUsers.NewEmail("contract"), name = "Contract" }), HttpStatusCode.OK);
        var user = Client(contract, signIn.GetProperty("accessToken").GetString());
        var (adminClient, adminSignIn) = await app.SignInAsync(TestUsers.AdminEmail);
        var admin = Client(contract, adminSignIn.GetProperty("accessToken").GetString());
        adminClient.Dispose();
        await JsonAsync(anonymous.GetAsync("auth/login?returnTo=/"), HttpStatusCode.NotFound);
        (await anonymous.GetAsync("auth/callback?code=c&state=s")).Dispose();
        (await anonymous.PostAsJsonAsync("auth/token", new { refreshToken = "nope" })).Dispose();
        await JsonAsync(user.GetAsync("me"), HttpStatusCode.OK);
        await JsonAsync(anonymous.GetAsync("me"), HttpStatusCode.Unauthorized);
        await JsonAsync(user.GetAsync("me/export"), HttpStatusCode.OK);
        await JsonAsync(anonymous.GetAsync("health"), HttpStatusCode.OK);
        await JsonAsync(user.GetAsync("health/details"), HttpStatusCode.Forbidden);
        await JsonAsync(admin.GetAsync("health/details"), HttpStatusCode.OK);

        // Chat.
        var conversation = await JsonAsync(user.PostAsJsonAsync("chat/conversations", new { title = "Contract" }), HttpStatusCode.Created);
        var conversationId = conversation.GetProperty("id").GetString();
        await JsonAsync(user.GetAsync("chat/conversations"), HttpStatusCode.OK);
        var turn = await JsonAsync(user.PostAsJsonAsync($"chat/conversations/{conversationId}/messages", new { content = "Hello there" }), HttpStatusCode.OK);
        var replyId = turn.GetProperty("reply").GetProperty("id").GetString();
        using (var resumed = await user.GetAsync($"chat/conversations/{conversationId}/messages/{replyId}/stream?lastEventId=3"))
        {
            Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
            Assert.Contains("event: done", await resumed.Content.ReadAsStringAsync());
        }
        await JsonAsync(user.GetAsync($"chat/conversations/{conversationId}/messages/{replyId}/stream?lastEventId=x"), HttpStatusCode.BadRequest);
        await JsonAsync(user.PatchAsJsonAsync($"chat/conversations/{conversationId}", new { title = "Renamed" }), HttpStatusCode.OK);
        await JsonAsync(user.PostAsJsonAsync("chat/search", new { query = "hello" }), HttpStatusCode.OK);
        await JsonAsync(user.PostAsJsonAsync("chat/search", new { limit = 5 }), HttpStatusCode.BadRequest);
        await JsonAsync(user.PatchAsJsonAsync($"chat/conversations/{conversationId}", new { title = "" }), HttpStatusCode.BadRequest);
        await JsonAsync(user.PostAsJsonAsync($"chat/conversations/{conversationId}/messages", new { content = "" }), HttpStatusCode.BadRequest);
        await JsonAsync(user.GetAsync($"chat/conversations/{conversationId}"), HttpStatusCode.OK);
        await JsonAsync(user.GetAsync("v1/models"), HttpStatusCode.OK);
        await JsonAsync(user.PostAsJsonAsync("v1/chat/completions", new { messages = new[] { new { role = "user", content = "Hi" } } }), HttpStatusCode.OK);
        await JsonAsync(user.PostAsJsonAsync("v1/chat/completions", new { model = "no-such-model", messages = new[] { new { role = "user", content = "Hi" } } }), HttpStatusCode.NotFound);
        // Branches (a regenerate is the plan's third message of the day) and share links.
        await JsonAsync(user.PostAsJsonAsync($"chat/conversations/{conversationId}/messages/{replyId}/regenerate", new { }), HttpStatusCode.OK);
        await JsonAsync(user.GetAsync($"chat/conversations/{conversationId}/branches"), HttpStatusCode.OK);
        var messageId = turn.GetProperty("message").GetProperty("id").GetString();
        await JsonAsync(user.PostAsJsonAsync($"chat/conversations/{conversationId}/messages/{messageId}/edit", new { content = "" }), HttpStatusCode.BadRequest);
        await JsonAsync(user.PostAsJsonAsync($"chat/conversations/{conversationId}/messages/msg_00000000000000000000000000000000/edit", new { content = "Hi" }), HttpStatusCode.NotFound);
        var shareId = (await JsonAsync(user.PostAsJsonAsync($"chat/conversations/{conversationId}/shares", new { }), HttpStatusCode.Created)).GetProperty("id").GetString();
        await JsonAsync(user.GetAsync($"chat/conversations/{conversationId}/shares"), HttpStatusCode.OK);
        await JsonAsync(anonymous.GetAsync($"shares/{shareId}"), HttpStatusCode.OK);
        await JsonAsync(user.DeleteAsync($"chat/conversations/{conversationId}/shares/{shareId}"), HttpStatusCode.NoContent);
        await JsonAsync(anonymous.GetAsync($"shares/{shareId}"), HttpStatusCode.NotFound);
        await JsonAsync(user.DeleteAsync($"chat/conversations/{conversationId}"), HttpStatusCode.NoContent);
        await JsonAsync(user.GetAsync($"chat/conversations/{conversationId}"), HttpStatusCode.NotFound);

        // Memory.
        var session = (await JsonAsync(user.PostAsync("memory/sessions", null), HttpStatusCode.Created)).GetProperty("sessionId").GetString();
        var memoryId = (await JsonAsync(user.PostAsJsonAsync($"memory/sessions/{session}/memories", new { content = "Prefers green tea", timeline = "likes" }), HttpStatusCode.Created)).GetProperty("memoryId").GetString();
        await JsonAsync(user.GetAsync($"memory/sessions/{session}/memories?last=10"), HttpStatusCode.OK);
        await JsonAsync(user.PostAsJsonAsync("memory/search", new { terms = "what does the user drink" }), HttpStatusCode.OK);
        await JsonAsync(user.PostAsJsonAsync("memory/search", new { limit = 5 }), HttpStatusCode.BadRequest);
        var documentId = (await JsonAsync(user.PostAsJsonAsync("memory/documents", new { document = new { topic = "returns" } }), HttpStatusCode.Created)).GetProperty("documentId").GetString();
        await JsonAsync(user.GetAsync($"memory/documents/{documentId}"), HttpStatusCode.OK);
        await JsonAsync(user.PutAsJsonAsync("memory/procedures/greeting", new { value = "Say hello" }), HttpStatusCode.OK);
        await JsonAsync(user.GetAsync("memory/procedures"), HttpStatusCode.OK);
        await JsonAsync(user.GetAsync("memory/procedures/greeting"), HttpStatusCode.OK);
        await JsonAsync(user.DeleteAsync("memory/procedures/greeting"), HttpStatusCode.NoContent);
        await JsonAsync(user.DeleteAsync($"memory/documents/{documentId}"), HttpStatusCode.NoContent);
        await JsonAsync(user.DeleteAsync($"memory/sessions/{session}/memories/{memoryId}"), HttpStatusCode.NoContent);
        await JsonAsync(user.PostAsJsonAsync($"memory/sessions/{session}/end", new { flush = true, instructions = "Two sentences." }), HttpStatusCode.OK);
        await JsonAsync(user.PostAsJsonAsync($"memory/sessions/{session}/rehydrate", new { summaryOnly = true }), HttpStatusCode.Conflict); // its one memory was deleted: nothing to summarise
        await JsonAsync(user.PostAsJsonAsync($"memory/sessions/{session}/rehydrate", new { }), HttpStatusCode.Created);
        var fact = await JsonAsync(user.PostAsJsonAsync("memory/facts", new { content = "Lives in Porto", topic = "home city", metadata = new { source = "contract" } }), HttpStatusCode.Created);
        var factId = fact.GetProperty("id").GetString();
        await JsonAsync(user.PostAsJsonAsync("memory/facts", new { content = "Lives in Braga", topic = "home city" }), HttpStatusCode.Created);
        await JsonAsync(user.GetAsync($"memory/{factId}/history"), HttpStatusCode.OK);
        await JsonAsync(user.GetAsync("memory?kind=semantic&origin=stated&limit=1"), HttpStatusCode.OK);
        await JsonAsync(user.GetAsync("memory?kind=unknown"), HttpStatusCode.BadRequest);
        await JsonAsync(user.PostAsJsonAsync("memory/summarize", new { memoryIds = new[] { factId }, instructions = "One line." }), HttpStatusCode.OK);
        await JsonAsync(user.GetAsync("memory/settings"), HttpStatusCode.OK);
        await JsonAsync(user.PutAsJsonAsync("memory/settings", new { learning = true }), HttpStatusCode.OK);
        await JsonAsync(user.PostAsJsonAsync("memory/forget", new { about = "where I live" }), HttpStatusCode.OK);
        var noted = (await JsonAsync(user.PostAsJsonAsync("memory/facts", new { content = "Prefers window seats" }), HttpStatusCode.Created)).GetProperty("id").GetString();
        await JsonAsync(user.DeleteAsync($"memory/{noted}"), HttpStatusCode.NoContent);
        await JsonAsync(user.PostAsJsonAsync("memory/delete", new { kinds = new[] { "working" } }), HttpStatusCode.OK);

        // Files.
        using (var upload = new ByteArrayContent(Encoding.UTF8.GetBytes("The warranty covers water damage for 24 months.")))
        {
            upload.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
            using var request = new HttpRequestMessage(HttpMethod.Post, "files") { Content = upload };
            request.Headers.Add("X-File-Name", "warranty.txt");
            var file = await JsonAsync(user.SendAsync(request), HttpStatusCode.Created);
            var fileId = file.GetProperty("id").GetString();
            await FileTests.WaitForAsync(user, fileId!, "indexed");
            await JsonAsync(user.GetAsync("files?limit=5"), HttpStatusCode.OK);
            await JsonAsync(user.PostAsJsonAsync("files/search", new { query = "water damage" }), HttpStatusCode.OK);
            await JsonAsync(user.PostAsJsonAsync($"files/{fileId}/ask", new { question = "How long is water damage covered?" }), HttpStatusCode.OK);
            using (var content = await user.GetAsync($"files/{fileId}/content")) Assert.Equal(HttpStatusCode.Redirect, content.StatusCode);
            using (var asJson = new HttpRequestMessage(HttpMethod.Get, $"files/{fileId}/content"))
            {
                asJson.Headers.Accept.ParseAdd("application/json");
                var link = await JsonAsync(user.SendAsync(asJson), HttpStatusCode.OK);
                using var bytes = await new HttpClient().GetAsync(link.GetProperty("url").GetString());
                Assert.Equal("The warranty covers water damage for 24 months.", await bytes.Content.ReadAsStringAsync());
            }
            await JsonAsync(user.PostAsync($"files/{fileId}/retry", null), HttpStatusCode.Conflict);
            await JsonAsync(user.DeleteAsync($"files/{fileId}"), HttpStatusCode.NoContent);
        }
        var direct = await JsonAsync(user.PostAsJsonAsync("files/uploads", new { name = "big.pdf", contentType = "application/pdf", size = 1024 }), HttpStatusCode.Created);
        await JsonAsync(user.PostAsync($"files/{direct.GetProperty("fileId").GetString()}/upload-url", null), HttpStatusCode.OK);
        await JsonAsync(user.PostAsync($"files/{direct.GetProperty("fileId").GetString()}/complete", null), HttpStatusCode.Conflict);

        // Data.
        var record = await JsonAsync(user.PostAsJsonAsync("data/tables/people/records", new { id = "ana", name = "Ana", city = "Lisbon", age = 34 }), HttpStatusCode.Created);
        await JsonAsync(user.GetAsync("data/tables/people/records/ana"), HttpStatusCode.OK);
        using (var replace = new HttpRequestMessage(HttpMethod.Put, "data/tables/people/records/ana") { Content = JsonContent.Create(new { name = "Ana", city = "Porto", age = 35 }) })
        {
            replace.Headers.TryAddWithoutValidation("If-Match", record.GetProperty("etag").GetString());
            await JsonAsync(user.SendAsync(replace), HttpStatusCode.OK);
        }
        await JsonAsync(user.PatchAsJsonAsync("data/tables/people/records/ana", new { city = "Faro" }), HttpStatusCode.OK);
        using (var stale = new HttpRequestMessage(HttpMethod.Delete, "data/tables/people/records/ana"))
        {
            stale.Headers.TryAddWithoutValidation("If-Match", record.GetProperty("etag").GetString());
            await JsonAsync(user.SendAsync(stale), HttpStatusCode.PreconditionFailed);
        }
        await JsonAsync(user.PostAsJsonAsync("data/tables/people/query", new { where = new[] { new { field = "city", op = "eq", value = "Faro" } } }), HttpStatusCode.OK);
        await JsonAsync(user.GetAsync("data/tables"), HttpStatusCode.OK);
        var original = app.Model.Reply;
        try
        {
            app.Model.Reply = _ => """{"table":"people","where":[{"field":"city","op":"eq","value":"Faro"}],"reasoning":"People in Faro."}""";
            await JsonAsync(user.PostAsJsonAsync("data/ask", new { question = "Who lives in Faro?" }), HttpStatusCode.OK);
        }
        finally
        {
            app.Model.Reply = original;
        }
        await JsonAsync(user.DeleteAsync("data/tables/people/records/ana"), HttpStatusCode.NoContent);
        await JsonAsync(user.DeleteAsync("data/tables/people"), HttpStatusCode.NoContent);

        // Agents: the MCP server and its protected-resource metadata.
        using (var list = new HttpRequestMessage(HttpMethod.Post, "mcp") { Content = JsonContent.Create(new { jsonrpc = "2.0", id = 1, method = "tools/list", @params = new { } }) })
        {
            list.Headers.Accept.ParseAdd("application/json, text/event-stream");
            list.Headers.Add("MCP-Protocol-Version", "2025-06-18");
            using var listed = await user.SendAsync(list);
            Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
            Assert.Contains("search_memory", await listed.Content.ReadAsStringAsync());
        }
        using (var unsigned = new HttpRequestMessage(HttpMethod.Post, "mcp") { Content = JsonContent.Create(new { jsonrpc = "2.0", id = 1, method = "tools/list" }) })
        {
            unsigned.Headers.Accept.ParseAdd("application/json, text/event-stream");
            await JsonAsync(anonymous.SendAsync(unsigned), HttpStatusCode.Unauthorized);
        }
        using (var stream = await user.GetAsync("mcp")) Assert.Equal(HttpStatusCode.MethodNotAllowed, stream.StatusCode);
        using (var end = await user.DeleteAsync("mcp")) Assert.Equal(HttpStatusCode.MethodNotAllowed, end.StatusCode);
        await JsonAsync(anonymous.GetAsync(".well-known/oauth-protected-resource"), HttpStatusCode.OK);

        // Billing.
        await JsonAsync(anonymous.GetAsync("billing/plans"), HttpStatusCode.OK);
        await JsonAsync(user.GetAsync("billing/subscription"), HttpStatusCode.OK);
        await JsonAsync(user.PostAsJsonAsync("billing/checkout", new { plan = "pro" }), HttpStatusCode.OK);
        await JsonAsync(user.PostAsJsonAsync("billing/portal", new { }), HttpStatusCode.Conflict);
        await JsonAsync(anonymous.PostAsync("billing/webhook", new StringContent("{}", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);

        // The document and the console.
        await JsonAsync(anonymous.GetAsync("openapi.json"), HttpStatusCode.OK);
        using (var page = await anonymous.GetAsync("console")) Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        using (var script = await anonymous.GetAsync("console/app.js")) Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        await JsonAsync(anonymous.GetAsync("console/..%2Fappsettings.json"), HttpStatusCode.NotFound);

        // Leaving: sign out, then delete the account and follow the deletion.
        await JsonAsync(user.PostAsJsonAsync("auth/logout", new { }), HttpStatusCode.OK);
        var signInAgain = await JsonAsync(anonymous.PostAsJsonAsync("auth/demo", new { email = signIn.GetProperty("user").GetProperty("email").GetString() }), HttpStatusCode.OK);
        var again = Client(contract, signInAgain.GetProperty("accessToken").GetString());
        using (var deleting = await again.DeleteAsync("me"))
        {
            Assert.Equal(HttpStatusCode.Accepted, deleting.StatusCode);
            await JsonAsync(anonymous.GetAsync(deleting.Headers.Location!.ToString().Replace("/api/", "", StringComparison.Ordinal)), HttpStatusCode.OK);
        }

        Assert.True(contract.Violations.Count == 0, "The app and the document disagree:\n" + string.Join("\n", contract.Violations));
        Assert.Equal([], contract.OperationIds.Except(contract.Covered).ToArray()); // every operation was called
    }
}
