using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;

namespace SmartApp.Tests.EndToEnd;

/// <summary>Files on Azure only: search and questions run locally.</summary>
[Collection(DevHostCollection.Name)]
public sealed class FileTestsOnAzure(DevHostFixture app) : FileTests(app);

/// <summary>The same suite with files mirrored to Raindrop, which serves search and questions while it answers.</summary>
[Collection(RaindropCollection.Name)]
public sealed class FileTestsOnRaindrop(RaindropDevHostFixture app) : FileTests(app);

/// <summary>Every route in the OpenAPI document's "Files" tag, with real documents, through the dev host, the real worker and the emulators.</summary>
public abstract class FileTests(DevHostFixture app)
{
    private static readonly string[][] WarrantyPages =
    [
        ["Acme Kettle 3000 - User Guide", "Fill the kettle to the marked line before switching it on."],
        ["Warranty terms", "The warranty covers water damage for 24 months from purchase.", "Keep your receipt as proof of purchase."],
        ["Cleaning", "Descale the kettle with white vinegar once a month."],
    ];

    internal static async Task<JsonElement> UploadAsync(HttpClient user, byte[] bytes, string name, string contentType)
    {
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        using var request = new HttpRequestMessage(HttpMethod.Post, "files") { Content = content };
        request.Headers.Add("X-File-Name", Uri.EscapeDataString(name));
        using var response = await user.SendAsync(request);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body.ToString());
        return body;
    }

    internal static async Task<JsonElement> WaitForAsync(HttpClient user, string fileId, params string[] statuses)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        JsonElement file;
        do
        {
            file = await user.GetFromJsonAsync<JsonElement>($"files/{fileId}");
            if (statuses.Contains(file.GetProperty("status").GetString())) return file;
            await Task.Delay(200);
        }
        while (DateTime.UtcNow < deadline);
        Assert.Fail($"file {fileId} did not reach {string.Join('/', statuses)}: {file}");
        return file;
    }

    internal static async Task<JsonElement[]> SearchAsync(HttpClient user, object query)
    {
        using var response = await user.PostAsJsonAsync("files/search", query);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        return [.. body.GetProperty("results").EnumerateArray()];
    }

    private static string Id(JsonElement file) => (file.TryGetProperty("id", out var id) ? id : file.GetProperty("fileId")).GetString()!;

    [Fact]
    public async Task Each_format_is_ingested_and_search_cites_the_right_file_page_and_passage()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("files"));
        var pdf = await UploadAsync(user, TestDocuments.Pdf(WarrantyPages), "kettle guide.pdf", "application/pdf");
        Assert.Equal("kettle guide.pdf", pdf.GetProperty("name").GetString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(TestDocuments.Pdf(WarrantyPages))).Length, pdf.GetProperty("sha256").GetString()!.Length);

        // DOCX through multipart, the way a browser form sends it.
        using var form = new MultipartFormDataContent();
        var docx = new ByteArrayContent(TestDocuments.Docx("Onboarding checklist", "New starters receive a laptop and a security badge on their first day."));
        docx.Headers.ContentType = MediaTypeHeaderValue.Parse("application/vnd.openxmlformats-officedocument.wordprocessingml.document");
        form.Add(docx, "file", "onboarding.docx");
        using var multipart = await user.PostAsync("files", form);
        Assert.Equal(HttpStatusCode.Created, multipart.StatusCode);
        var word = await multipart.Content.ReadFromJsonAsync<JsonElement>();

        var html = await UploadAsync(user, TestDocuments.Utf8("<html><head><title>Office hours</title><script>var hidden='do not index';</script></head><body><h1>Opening times</h1><p>The office is open from 9am to 5pm on weekdays.</p></body></html>"), "hours.html", "text/html");
        var markdown = await UploadAsync(user, TestDocuments.Utf8("# Recipes\n\n## Pancakes\n\nWhisk **two eggs** with milk and flour, then fry in butter.\n"), "recipes.md", "text/markdown");
        var csv = await UploadAsync(user, TestDocuments.Utf8("city,population\nLisbon,545000\nPorto,232000\n"), "cities.csv", "text/csv");

        foreach (var file in new[] { pdf, word, html, markdown, csv })
        {
            var done = await WaitForAsync(user, Id(file), "indexed", "failed");
            Assert.True(done.GetProperty("status").GetString() == "indexed", done.ToString());
            foreach (var stage in new[] { "extract", "chunk", "embed", "index" })
            {
                var progress = done.GetProperty("stages").GetProperty(stage);
                Assert.Equal(progress.GetProperty("total").GetInt32(), progress.GetProperty("done").GetInt32());
            }
            Assert.True(done.GetProperty("chunkCount").GetInt32() >= 1);
        }

        var warranty = (await SearchAsync(user, new { query = "how long is water damage covered" }))[0];
        Assert.Equal(Id(pdf), warranty.GetProperty("fileId").GetString());
        Assert.Equal("kettle guide.pdf", warranty.GetProperty("fileName").GetString());
        Assert.Equal(2, warranty.GetProperty("page").GetInt32());
        Assert.Contains("water damage for 24 months", warranty.GetProperty("text").GetString());
        Assert.True(warranty.GetProperty("end").GetInt32() > warranty.GetProperty("start").GetInt32());
        Assert.InRange(warranty.GetProperty("score").GetDouble(), 0.5, 1);
        Assert.False(string.IsNullOrEmpty(warranty.GetProperty("chunkId").GetString()));

        Assert.Equal(Id(word), (await SearchAsync(user, new { query = "what do new employees get on day one" }))[0].GetProperty("fileId").GetString());
        Assert.Equal(Id(html), (await SearchAsync(user, new { query = "when is the office open" }))[0].GetProperty("fileId").GetString());
        Assert.Equal(Id(markdown), (await SearchAsync(user, new { query = "pancakes eggs" }))[0].GetProperty("fileId").GetString());
        Assert.Equal(Id(csv), (await SearchAsync(user, new { query = "population of Porto" }))[0].GetProperty("fileId").GetString());
        Assert.DoesNotContain(await SearchAsync(user, new { query = "do not index hidden", fileIds = new[] { Id(html) } }), r => r.GetProperty("text").GetString()!.Contains("hidden"));
        Assert.All(await SearchAsync(user, new { query = "water damage", fileIds = new[] { Id(csv) } }), r => Assert.Equal(Id(csv), r.GetProperty("fileId").GetString()));

        var listed = await user.GetFromJsonAsync<JsonElement>("files?prefix=kettle");
        Assert.Equal([Id(pdf)], listed.GetProperty("files").EnumerateArray().Select(Id));
    }

    [Fact]
    public async Task Asking_a_document_answers_with_citations_and_gives_the_passages_when_the_model_is_down()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("files"));
        var pdf = await UploadAsync(user, TestDocuments.Pdf(WarrantyPages), "guide.pdf", "application/pdf");
        await WaitForAsync(user, Id(pdf), "indexed");

        using var asked = await user.PostAsJsonAsync($"files/{Id(pdf)}/ask", new { question = "Does the warranty cover water damage?" });
        var answer = await asked.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(asked.StatusCode == HttpStatusCode.OK, answer.ToString());
        Assert.StartsWith(FakeVultr.ReplyPrefix, answer.GetProperty("answer").GetString());
        Assert.False(answer.GetProperty("retrievalOnly").GetBoolean());
        var citations = answer.GetProperty("citations").EnumerateArray().ToList();
        Assert.Contains(citations, c => c.GetProperty("page").GetInt32() == 2 && c.GetProperty("text").GetString()!.Contains("water damage"));
        var lastPrompt = app.Model.Requests.Last()["messages"]!.AsArray().Last()!["content"]!.GetValue<string>();
        Assert.Contains("water damage for 24 months", lastPrompt); // the model was given the passages

        app.Model.Down = true;
        try
        {
            using var fallback = await user.PostAsJsonAsync($"files/{Id(pdf)}/ask", new { question = "Does the warranty cover water damage?" });
            var retrieval = await fallback.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(HttpStatusCode.OK, fallback.StatusCode);
            Assert.True(retrieval.GetProperty("retrievalOnly").GetBoolean());
            Assert.Contains("water damage for 24 months", retrieval.GetProperty("answer").GetString());
            Assert.NotEmpty(retrieval.GetProperty("citations").EnumerateArray());
        }
        finally
        {
            app.Model.Down = false;
        }
    }

    [Fact]
    public async Task Deleting_a_file_removes_bytes_record_and_chunks_and_search_never_returns_it_after()
    {
        var (user, signIn) = await app.SignInAsync(TestUsers.NewEmail("files"));
        var userId = signIn.GetProperty("user").GetProperty("id").GetString()!;
        var file = await UploadAsync(user, TestDocuments.Utf8("The spare key is under the blue flower pot."), "notes.txt", "text/plain");
        await WaitForAsync(user, Id(file), "indexed");
        Assert.Single(await SearchAsync(user, new { query = "where is the spare key" }));
        var blob = new BlobServiceClient(app.StorageConnectionString).GetBlobContainerClient("files").GetBlobClient($"users/{userId}/{Id(file)}");
        Assert.True((await blob.ExistsAsync()).Value);

        using var deleted = await user.DeleteAsync($"files/{Id(file)}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty(await SearchAsync(user, new { query = "where is the spare key" }));
        Assert.False((await blob.ExistsAsync()).Value);
        foreach (var route in new[] { $"files/{Id(file)}", $"files/{Id(file)}/content" })
        {
            using var gone = await user.GetAsync(route);
            await ProblemAssert.IsProblemAsync(gone, HttpStatusCode.NotFound, "not-found");
        }
        Assert.Empty((await user.GetFromJsonAsync<JsonElement>("files")).GetProperty("files").EnumerateArray());
    }

    [Fact]
    public async Task A_direct_upload_with_a_resent_block_completes_is_ingested_and_downloads_intact()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("files"));
        var text = string.Join("\n", Enumerable.Range(1, 400).Select(i => $"Line {i}: the lighthouse keeper logs the weather every hour."));
        var bytes = TestDocuments.Utf8(text);
        using var begun = await user.PostAsJsonAsync("files/uploads", new { name = "log.txt", contentType = "text/plain", size = bytes.Length });
        var upload = await begun.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(begun.StatusCode == HttpStatusCode.Created, upload.ToString());

        var blob = new BlockBlobClient(new Uri(upload.GetProperty("uploadUrl").GetString()!));
        var half = bytes.Length / 2;
        string[] blocks = [Convert.ToBase64String("block-0"u8.ToArray()), Convert.ToBase64String("block-1"u8.ToArray())];
        await blob.StageBlockAsync(blocks[0], new MemoryStream(bytes[..half]));
        await blob.StageBlockAsync(blocks[0], new MemoryStream(bytes[..half])); // the connection dropped; the client sends the block again
        await blob.StageBlockAsync(blocks[1], new MemoryStream(bytes[half..]));
        await blob.CommitBlockListAsync(blocks);
        // The URL writes this blob only: it cannot read it back.
        await Assert.ThrowsAsync<Azure.RequestFailedException>(() => blob.DownloadContentAsync());

        using var completed = await user.PostAsync($"files/{upload.GetProperty("fileId").GetString()}/complete", null);
        var file = await completed.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(completed.StatusCode == HttpStatusCode.OK, file.ToString());
        Assert.Equal(bytes.Length, file.GetProperty("size").GetInt64());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), file.GetProperty("sha256").GetString());
        await WaitForAsync(user, Id(file), "indexed");
        Assert.Equal(Id(file), (await SearchAsync(user, new { query = "lighthouse weather log" }))[0].GetProperty("fileId").GetString());

        // The download is a redirect to a short-lived read URL.
        using var noRedirect = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = user.BaseAddress };
        noRedirect.DefaultRequestHeaders.Authorization = user.DefaultRequestHeaders.Authorization;
        using var redirect = await noRedirect.GetAsync($"files/{Id(file)}/content");
        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        Assert.Contains("se=", redirect.Headers.Location!.Query);
        using var plain = new HttpClient();
        Assert.Equal(bytes, await plain.GetByteArrayAsync(redirect.Headers.Location));
    }

    [Fact]
    public async Task Bad_uploads_are_refused_with_the_reason_and_store_nothing()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("files"));

        async Task<HttpResponseMessage> Raw(byte[] bytes, string? name, string contentType = "text/plain", bool chunked = false)
        {
            HttpContent content = chunked ? new StreamContent(new NoLengthStream(bytes)) : new ByteArrayContent(bytes);
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
            using var request = new HttpRequestMessage(HttpMethod.Post, "files") { Content = content };
            if (name is not null) request.Headers.TryAddWithoutValidation("X-File-Name", name);
            return await user.SendAsync(request);
        }

        async Task Expect(HttpResponseMessage response, HttpStatusCode status, string kind, string? field = null)
        {
            using (response)
            {
                var problem = await ProblemAssert.IsProblemAsync(response, status, kind);
                if (field is not null) Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
            }
        }

        var hello = TestDocuments.Utf8("hello");
        await Expect(await Raw(hello, null), HttpStatusCode.BadRequest, "validation", "name");
        await Expect(await Raw(hello, "../../etc/passwd"), HttpStatusCode.BadRequest, "validation", "name");
        await Expect(await Raw(hello, "..%2Fsecret.txt"), HttpStatusCode.BadRequest, "validation", "name");
        await Expect(await Raw(hello, "bad%0Aname.txt"), HttpStatusCode.BadRequest, "validation", "name");
        await Expect(await Raw(hello, new string('a', 256) + ".txt"), HttpStatusCode.BadRequest, "validation", "name");
        await Expect(await Raw([], "empty.txt"), HttpStatusCode.BadRequest, "validation", "body");
        await Expect(await Raw(TestDocuments.Utf8("not really a pdf"), "fake.pdf", "application/pdf"), HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
        var tooBig = new byte[DevHostFixture.FileLimitBytes + 1];
        await Expect(await Raw(tooBig, "big.txt"), HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
        await Expect(await Raw(tooBig, "big-streamed.txt", chunked: true), HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
        using (var tooLarge = await user.PostAsJsonAsync("files/uploads", new { name = "big.bin", contentType = "application/octet-stream", size = DevHostFixture.FileLimitBytes + 1 }))
            await Expect(tooLarge, HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
        await Expect(await user.PostAsJsonAsync("files/search", new { query = " " }), HttpStatusCode.BadRequest, "validation", "query");
        Assert.Empty((await user.GetFromJsonAsync<JsonElement>("files")).GetProperty("files").EnumerateArray());

        foreach (var id in new[] { "file_00000000000000000000000000000000", "nope" })
        {
            using var missing = await user.GetAsync($"files/{id}");
            await ProblemAssert.IsProblemAsync(missing, HttpStatusCode.NotFound, "not-found");
        }
        using (var completeEarly = await user.PostAsJsonAsync("files/uploads", new { name = "later.txt", contentType = "text/plain", size = 10 }))
        {
            var pending = await completeEarly.Content.ReadFromJsonAsync<JsonElement>();
            await Expect(await user.PostAsync($"files/{pending.GetProperty("fileId").GetString()}/complete", null), HttpStatusCode.Conflict, "conflict");
        }
    }

    [Fact]
    public async Task Other_types_are_stored_not_indexed_and_a_broken_document_fails_with_a_reason_and_can_be_retried()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("files"));
        var image = await UploadAsync(user, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3], "photo.png", "image/png");
        Assert.Equal("notIndexed", image.GetProperty("status").GetString());

        var broken = await UploadAsync(user, TestDocuments.Utf8("%PDF-1.7\nthis is not really a PDF body"), "broken.pdf", "application/pdf");
        var failed = await WaitForAsync(user, Id(broken), "failed");
        Assert.Contains("could not be read", failed.GetProperty("errors")[0].GetString());

        using var retried = await user.PostAsync($"files/{Id(broken)}/retry", null);
        Assert.Equal(HttpStatusCode.Accepted, retried.StatusCode);
        Assert.Equal("failed", (await WaitForAsync(user, Id(broken), "failed")).GetProperty("status").GetString());
        using var notFailed = await user.PostAsync($"files/{Id(image)}/retry", null);
        await ProblemAssert.IsProblemAsync(notFailed, HttpStatusCode.Conflict, "conflict");
    }

    [Fact]
    public async Task Another_user_sees_none_of_a_users_files_through_any_route()
    {
        var (alice, _) = await app.SignInAsync(TestUsers.NewEmail("alice"));
        var (bob, _) = await app.SignInAsync(TestUsers.NewEmail("bob"));
        var file = await UploadAsync(alice, TestDocuments.Utf8("Alice's bank PIN hint: her first cat's birthday."), "private.txt", "text/plain");
        await WaitForAsync(alice, Id(file), "indexed");

        foreach (var request in new Func<Task<HttpResponseMessage>>[]
        {
            () => bob.GetAsync($"files/{Id(file)}"),
            () => bob.GetAsync($"files/{Id(file)}/content"),
            () => bob.DeleteAsync($"files/{Id(file)}"),
            () => bob.PostAsync($"files/{Id(file)}/complete", null),
            () => bob.PostAsync($"files/{Id(file)}/retry", null),
            () => bob.PostAsJsonAsync($"files/{Id(file)}/ask", new { question = "What is the PIN hint?" }),
            () => bob.PostAsJsonAsync("files/search", new { query = "PIN hint", fileIds = new[] { Id(file) } }),
        })
        {
            using var response = await request();
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound, "not-found");
        }
        Assert.Empty(await SearchAsync(bob, new { query = "bank PIN hint cat birthday" }));
        Assert.Empty((await bob.GetFromJsonAsync<JsonElement>("files")).GetProperty("files").EnumerateArray());
        Assert.Single(await SearchAsync(alice, new { query = "bank PIN hint" }));
    }

    [Fact]
    public async Task Files_are_in_the_export_and_gone_with_the_account()
    {
        var email = TestUsers.NewEmail("leaving");
        var (user, signIn) = await app.SignInAsync(email);
        var userId = signIn.GetProperty("user").GetProperty("id").GetString()!;
        var file = await UploadAsync(user, TestDocuments.Utf8("Our wedding was in Sintra."), "wedding-notes.txt", "text/plain");
        await WaitForAsync(user, Id(file), "indexed");

        var export = JsonDocument.Parse(await user.GetStringAsync("me/export")).RootElement.GetProperty("stores");
        Assert.Contains(export.GetProperty("files").EnumerateArray(), f => f.GetProperty("name").GetString() == "wedding-notes.txt");
        Assert.Contains(export.GetProperty("blobs").EnumerateArray(), b => b.GetProperty("name").GetString() == $"users/{userId}/{Id(file)}");

        using var accepted = await user.DeleteAsync("me");
        var status = await app.WaitForDeletionAsync(accepted.Headers.Location!.ToString());
        Assert.Equal("completed", status.GetProperty("status").GetString());
        Assert.True(status.GetProperty("deleted").GetProperty("files").GetInt32() >= 1); // the record
        Assert.True(status.GetProperty("deleted").GetProperty("passages").GetInt32() >= 1); // and its passage
        Assert.Equal(1, status.GetProperty("deleted").GetProperty("blobs").GetInt32());

        var (again, _) = await app.SignInAsync(email);
        Assert.Empty(await SearchAsync(again, new { query = "where was the wedding" }));
        Assert.Empty((await again.GetFromJsonAsync<JsonElement>("files")).GetProperty("files").EnumerateArray());
    }

    /// <summary>A body sent without Content-Length (chunked), as a client streaming from a pipe does.</summary>
    private sealed class NoLengthStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
