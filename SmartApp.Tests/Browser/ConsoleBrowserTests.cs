using Microsoft.Playwright;
using SmartApp.Tests.EndToEnd;

namespace SmartApp.Tests.Browser;

/// <summary>
/// The web console in a real browser (headless Chromium) against the dev host: sign in, chat and
/// watch the reply stream, upload a file and watch it get indexed, search it. Each step is saved
/// as a screenshot under TestResults/screenshots.
/// </summary>
[Collection(DevHostCollection.Name)]
public sealed class ConsoleBrowserTests(DevHostFixture app, BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private async Task<IPage> OpenConsoleAsync(string path = "/api/console")
    {
        var context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 900 } });
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);
        page.Console += (_, message) => { if (message.Type == "error") errors.Add(message.Text); };
        await page.GotoAsync(new Uri(new Uri(app.State["baseUrl"]), path).ToString());
        return page;
    }

    private static Task ShotAsync(IPage page, string step) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotDirectory, $"{step}.png"), FullPage = true });

    private static async Task SignInAsync(IPage page, string email)
    {
        await page.FillAsync("#signin-form [name=email]", email);
        await page.FillAsync("#signin-form [name=name]", "Browser User");
        await page.ClickAsync("#signin-form button");
        await Assertions.Expect(page.GetByTestId("who")).ToContainTextAsync("Browser User");
    }

    [Fact]
    public async Task Sign_in_chat_with_a_streamed_reply_upload_a_file_see_it_indexed_and_search_it()
    {
        var page = await OpenConsoleAsync();
        {
            await ShotAsync(page, "01-console");
            await SignInAsync(page, TestUsers.NewEmail("browser"));
            await ShotAsync(page, "02-signed-in");

            // Chat: the fake model streams its tokens a little apart, so the reply is seen growing before it is done.
            var delay = app.Model.TokenDelay;
            app.Model.TokenDelay = TimeSpan.FromMilliseconds(60);
            try
            {
                await page.FillAsync("#chat-form [name=content]", "Tell me about the harbour ferry schedule please");
                await page.ClickAsync("#chat-form button");
                var reply = page.GetByTestId("reply").Last;
                // Part of the reply is on screen while it is still streaming.
                await page.WaitForFunctionAsync("() => { const r = [...document.querySelectorAll('[data-testid=reply]')].pop(); return r && r.classList.contains('streaming') && r.textContent.trim().length > 0; }");
                await ShotAsync(page, "03-chat-streaming");
                await Assertions.Expect(reply).Not.ToHaveClassAsync(new System.Text.RegularExpressions.Regex("streaming"), new() { Timeout = 30_000 });
                await Assertions.Expect(reply).ToContainTextAsync(FakeVultr.ReplyPrefix.Trim());
                await Assertions.Expect(reply).ToContainTextAsync("ferry schedule");
                await ShotAsync(page, "04-chat-done");
            }
            finally
            {
                app.Model.TokenDelay = delay;
            }

            // Files: upload straight to storage in blocks, watch ingestion, search.
            var toStorage = new List<string>();
            page.Request += (_, request) => { if (request.Method == "PUT" && request.Url.Contains("comp=block", StringComparison.Ordinal)) toStorage.Add(request.Url); };
            await page.ClickAsync("[data-tab=files]");
            await page.SetInputFilesAsync("#upload-form [name=file]", new FilePayload
            {
                Name = "lighthouse.txt",
                MimeType = "text/plain",
                Buffer = System.Text.Encoding.UTF8.GetBytes("Lighthouse notes\n\nThe lighthouse keeper lights the lamp at dusk every evening.\n\nVisitors may climb the tower on Saturdays."),
            });
            await page.ClickAsync("#upload-form button");
            await Assertions.Expect(page.GetByTestId("upload-status")).ToHaveTextAsync("indexed", new() { Timeout = 90_000 });
            Assert.Equal("100", await page.GetAttributeAsync("#upload-progress", "value"));
            // One block and the block list, to the blob endpoint (not through the app).
            Assert.Equal(2, toStorage.Count);
            Assert.All(toStorage, url => Assert.DoesNotContain(new Uri(app.State["baseUrl"]).Authority, url, StringComparison.Ordinal));
            await Assertions.Expect(page.Locator("#file-list")).ToContainTextAsync("lighthouse.txt");
            await ShotAsync(page, "05-file-indexed");

            await page.FillAsync("#file-search-form [name=query]", "when does the keeper light the lamp");
            await page.ClickAsync("#file-search-form button");
            var hit = page.GetByTestId("file-hit").First;
            await Assertions.Expect(hit).ToContainTextAsync("lighthouse.txt");
            await Assertions.Expect(hit).ToContainTextAsync("lights the lamp at dusk");
            await ShotAsync(page, "06-file-search");

            // Chat again: the model looks in the files with a tool, and the console shows it doing so.
            var marker = "BROWSERTOOLS" + Guid.NewGuid().ToString("N")[..8];
            app.Model.Script(marker, new FakeToolCall("search_files", """{"query":"when is the lighthouse lamp lit"}"""));
            await page.ClickAsync("[data-tab=chat]");
            await page.FillAsync("#chat-form [name=content]", $"{marker} When is the lamp lit?");
            await page.ClickAsync("#chat-form button");
            var withTools = page.GetByTestId("reply").Last;
            await Assertions.Expect(withTools).Not.ToHaveClassAsync(new System.Text.RegularExpressions.Regex("streaming"), new() { Timeout = 30_000 });
            var activity = withTools.GetByTestId("tool-activity");
            await Assertions.Expect(activity).ToContainTextAsync(new System.Text.RegularExpressions.Regex(@"Searched your files \(\d+ found\)"));
            await Assertions.Expect(withTools.Locator(".cites")).ToContainTextAsync("lighthouse.txt");
            await Assertions.Expect(withTools).ToContainTextAsync("lights the lamp at dusk");
            await ShotAsync(page, "07-chat-tool-activity");
        }
    }

    [Fact]
    public async Task Regenerate_a_reply_edit_a_message_switch_branches_and_share_a_link_that_stops_working_when_revoked()
    {
        var page = await OpenConsoleAsync();
        await SignInAsync(page, TestUsers.NewEmail("browser-branches"));
        await page.FillAsync("#chat-form [name=content]", "Suggest a name for a sailing boat");
        await page.ClickAsync("#chat-form button");
        var first = page.GetByTestId("reply").Last;
        await Assertions.Expect(first.GetByTestId("usage")).ToContainTextAsync(new System.Text.RegularExpressions.Regex(@"\d+ tokens · [\d.]+¢ on free"), new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("#conversation-select")).ToContainTextAsync("Suggest a name"); // titled from its first exchange

        // Regenerate: the new reply's branch is shown and chosen; the original is one choice away.
        await first.GetByTestId("regenerate").ClickAsync();
        await Assertions.Expect(page.Locator("#branch-select option")).ToHaveCountAsync(2, new() { Timeout = 30_000 });
        await Assertions.Expect(page.GetByTestId("reply")).ToHaveCountAsync(1);
        await ShotAsync(page, "08-regenerated");

        // Edit the message: a third branch holding the edit and its reply.
        page.Dialog += async (_, dialog) => await dialog.AcceptAsync("Suggest a name for a small rowing boat");
        await page.Locator(".message.user").First.GetByTestId("edit").ClickAsync();
        await Assertions.Expect(page.Locator("#branch-select option")).ToHaveCountAsync(3, new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("#messages")).ToContainTextAsync("small rowing boat");
        await page.SelectOptionAsync("#branch-select", "main");
        await Assertions.Expect(page.Locator("#messages")).Not.ToContainTextAsync("rowing");
        await Assertions.Expect(page.Locator("#messages")).ToContainTextAsync("sailing boat");

        // Share the original branch: anyone with the link reads it, until it is revoked.
        await page.ClickAsync("#share");
        var link = await page.GetByTestId("share-link").First.TextContentAsync();
        var reader = await OpenConsoleAsync(new Uri(link!).PathAndQuery);
        await Assertions.Expect(reader.GetByTestId("shared-title")).ToContainTextAsync("Suggest a name");
        await Assertions.Expect(reader.Locator("#shared-messages .message")).ToHaveCountAsync(2);
        await Assertions.Expect(reader.Locator("#shared-messages")).Not.ToContainTextAsync("rowing");
        await ShotAsync(reader, "09-shared");
        await page.GetByTestId("share-list").GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("share-link")).ToHaveCountAsync(0);
        await reader.ReloadAsync();
        await Assertions.Expect(reader.Locator("#shared-error")).ToContainTextAsync("revoked");
    }
}
