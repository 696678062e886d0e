using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using SmartApp.Tests.EndToEnd;

namespace SmartApp.Tests.Browser;

/// <summary>
/// A web app on its own origin, as an app maker runs one: a page served on http://localhost:3000 (the origin
/// local.settings.sample.json's Host.CORS allows) signs in, calls the API with its bearer token, uploads a file
/// straight to its signed blob URL and reads it back — every request a real cross-origin one, preflighted by
/// Chromium against the dev host and Azurite. The same page on http://127.0.0.1:3000 is another origin, not allowed.
/// </summary>
[Collection(DevHostCollection.Name)]
public sealed class CrossOriginBrowserTests(DevHostFixture app, BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private const string AllowedOrigin = "http://localhost:3000";
    private const string OtherOrigin = "http://127.0.0.1:3000";
    private WebApplication? _webApp;

    private static readonly string ClientBundle = Path.Combine(BuildMetadata.RepositoryRoot, "SmartApp.Functions", "Console", "wwwroot", "smartapp-client.js");

    /// <summary>The web app's own server: one page, on port 3000 of the loopback addresses.</summary>
    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(AllowedOrigin);
        _webApp = builder.Build();
        _webApp.MapGet("/", () => Results.Content("<!doctype html><html><head><title>A web app</title></head><body>A web app on its own origin</body></html>", "text/html"));
        // The web app ships @smartapp/client (the browser bundle the console uses).
        _webApp.MapGet("/smartapp-client.js", () => Results.File(ClientBundle, "text/javascript"));
        try
        {
            await _webApp.StartAsync();
        }
        catch (IOException ex)
        {
            throw new InvalidOperationException($"The web app's port 3000 is taken ({ex.Message}); stop whatever holds it.", ex);
        }
    }

    public async Task DisposeAsync()
    {
        if (_webApp is not null) await _webApp.DisposeAsync();
    }

    /// <summary>What the web app does, in the page: each step's outcome, or where it stopped and why.</summary>
    private const string WebAppScript = """
        async ({ api, email, text }) => {
          const steps = {};
          try {
            const signIn = await fetch(api + '/auth/demo', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, name: 'Web App User' }) });
            steps.signIn = signIn.status;
            const { accessToken } = await signIn.json();
            const auth = { Authorization: 'Bearer ' + accessToken };

            const me = await fetch(api + '/me', { headers: auth });
            steps.me = me.status;
            steps.email = (await me.json()).email;

            const bytes = new TextEncoder().encode(text);
            const upload = await fetch(api + '/files/uploads', { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' },
              body: JSON.stringify({ name: 'from-the-web.txt', contentType: 'text/plain', size: bytes.length }) });
            steps.upload = upload.status;
            const { fileId, uploadUrl, completeUrl } = await upload.json();

            // Straight to Blob Storage: one block, then the block list.
            const blockId = btoa('block-000001');
            const block = await fetch(uploadUrl + '&comp=block&blockid=' + encodeURIComponent(blockId), { method: 'PUT', body: bytes });
            steps.block = block.status;
            const list = await fetch(uploadUrl + '&comp=blocklist', { method: 'PUT', headers: { 'Content-Type': 'application/xml' },
              body: '<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>' + blockId + '</Latest></BlockList>' });
            steps.blockList = list.status;

            const complete = await fetch(new URL(completeUrl, api + '/').toString(), { method: 'POST', headers: auth });
            steps.complete = complete.status;
            const file = await complete.json();
            steps.size = file.size;
            steps.fileId = file.id === fileId;

            const content = await fetch(api + '/files/' + fileId + '/content', { headers: { ...auth, Accept: 'application/json' } });
            steps.content = content.status;
            const download = await fetch((await content.json()).url);
            steps.download = download.status;
            steps.downloaded = await download.text();
          } catch (e) {
            steps.error = String(e);
          }
          return steps;
        }
        """;

    /// <summary>The same web app written with the client package: streamed chat, a direct upload, typed errors.</summary>
    private const string PackageScript = """
        async ({ api, email, text }) => {
          const steps = {};
          try {
            const { SmartAppClient, QuotaExceededError } = await import('/smartapp-client.js');
            const client = new SmartAppClient({ baseUrl: api, maxRetryWaitSeconds: 0 });
            await client.signInDemo({ email, name: 'Web App User' });
            steps.email = (await client.api.GET('/me')).data.email;

            const upload = await client.upload(new Blob([text], { type: 'text/plain' }), 'from-the-package.txt', { directThreshold: 0, onProgress: (p) => { steps.loaded = p.loaded; } });
            steps.status = (await client.waitForFile(upload.id)).status;

            const conversation = (await client.api.POST('/chat/conversations', { body: {} })).data;
            steps.reply = '';
            for await (const event of client.streamTurn(conversation.id, { content: 'When does the tide turn?' })) {
              if (event.type === 'meta') steps.cited = event.data.citations.some((c) => c.fileId === upload.id);
              if (event.type === 'delta') steps.reply += event.data.text;
              if (event.type === 'done') steps.done = true;
            }

            // Turns until the plan's messages for the day run out: the refusal says when they come back.
            for (let turn = 0; turn < 5 && !steps.refused; turn++) {
              try {
                for await (const event of client.streamTurn(conversation.id, { content: 'And again ' + turn, useFiles: false })) void event;
              } catch (e) {
                steps.refused = e instanceof QuotaExceededError ? { status: e.status, retryAfter: e.retryAfter ?? null } : String(e);
              }
            }
          } catch (e) {
            steps.error = String(e);
          }
          return steps;
        }
        """;

    [Fact]
    public async Task A_web_app_on_the_allowed_origin_uses_the_client_package_for_a_direct_upload_a_streamed_cited_reply_and_typed_errors()
    {
        const string text = "Tide table from the web app: the tide turns at six in the evening.";
        var (steps, console) = await RunWebAppAsync(AllowedOrigin, TestUsers.NewEmail("webapp-package"), text, PackageScript);

        Assert.False(steps.TryGetProperty("error", out var error), $"the web app stopped: {error} after {steps}; console: {string.Join(" | ", console)}");
        Assert.StartsWith("webapp-package-", steps.GetProperty("email").GetString());
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(text), steps.GetProperty("loaded").GetInt32());
        Assert.Equal("indexed", steps.GetProperty("status").GetString());
        Assert.True(steps.GetProperty("cited").GetBoolean(), steps.ToString());
        Assert.StartsWith(FakeVultr.ReplyPrefix.Trim(), steps.GetProperty("reply").GetString());
        Assert.True(steps.GetProperty("done").GetBoolean());
        // Retry-After is readable across origins, so the typed error carries it.
        var refused = steps.GetProperty("refused");
        Assert.True(refused.ValueKind == JsonValueKind.Object, refused.ToString());
        Assert.Equal(429, refused.GetProperty("status").GetInt32());
        Assert.True(refused.GetProperty("retryAfter").GetDouble() > 0, refused.ToString());
    }

    /// <summary>Opens the web app's page on <paramref name="origin"/> and runs its script; the steps, and what the browser's console said.</summary>
    private async Task<(JsonElement Steps, List<string> Console)> RunWebAppAsync(string origin, string email, string text, string script = WebAppScript)
    {
        await using var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        var console = new List<string>();
        page.Console += (_, message) => console.Add(message.Text);
        await page.GotoAsync(origin + "/");
        Assert.Equal(origin, await page.EvaluateAsync<string>("() => location.origin"));
        var steps = await page.EvaluateAsync<JsonElement>(script, new { api = app.State["apiUrl"], email, text });
        return (steps, console);
    }

    [Fact]
    public async Task A_web_app_on_the_allowed_origin_signs_in_calls_the_api_and_uploads_straight_to_storage()
    {
        const string text = "Notes from the web app: the tide turns at six.";
        var (steps, console) = await RunWebAppAsync(AllowedOrigin, TestUsers.NewEmail("webapp"), text);

        Assert.False(steps.TryGetProperty("error", out var error), $"the web app stopped: {error} after {steps}; console: {string.Join(" | ", console)}");
        Assert.Equal(200, steps.GetProperty("signIn").GetInt32());
        Assert.Equal(200, steps.GetProperty("me").GetInt32());
        Assert.StartsWith("webapp-", steps.GetProperty("email").GetString());
        Assert.Equal(201, steps.GetProperty("upload").GetInt32());
        Assert.Equal(201, steps.GetProperty("block").GetInt32());
        Assert.Equal(201, steps.GetProperty("blockList").GetInt32());
        Assert.Equal(200, steps.GetProperty("complete").GetInt32());
        Assert.True(steps.GetProperty("fileId").GetBoolean());
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(text), steps.GetProperty("size").GetInt32());
        Assert.Equal(200, steps.GetProperty("content").GetInt32());
        Assert.Equal(200, steps.GetProperty("download").GetInt32());
        Assert.Equal(text, steps.GetProperty("downloaded").GetString());
    }

    [Fact]
    public async Task A_page_on_an_origin_not_allowed_cannot_call_the_api()
    {
        var (steps, console) = await RunWebAppAsync(OtherOrigin, TestUsers.NewEmail("webapp-other"), "never sent");

        // The browser refuses the answer to its preflight: the first call fails, and nothing after it runs.
        Assert.False(steps.TryGetProperty("signIn", out _), steps.ToString());
        Assert.Contains("Failed to fetch", steps.GetProperty("error").GetString());
        Assert.Contains(console, line => line.Contains("blocked by CORS policy", StringComparison.Ordinal) && line.Contains("Access-Control-Allow-Origin", StringComparison.Ordinal));
    }
}
