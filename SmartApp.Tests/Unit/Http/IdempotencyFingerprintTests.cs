using System.Text;
using Microsoft.AspNetCore.Http;
using SmartApp.Functions.Http;

namespace SmartApp.Tests.Unit;

/// <summary>What makes two requests with one Idempotency-Key the same request, and that reading the body for it leaves the body to the function.</summary>
[Trait("Category", "Unit")]
public sealed class IdempotencyFingerprintTests
{
    private static DefaultHttpContext Request(string path, string body, string contentType = "application/json", string method = "POST", string? fileName = null)
    {
        var http = new DefaultHttpContext();
        http.Request.Method = method;
        http.Request.Path = path;
        http.Request.ContentType = contentType;
        var bytes = Encoding.UTF8.GetBytes(body);
        http.Request.Body = new MemoryStream(bytes);
        http.Request.ContentLength = bytes.Length;
        if (fileName is not null) http.Request.Headers["X-File-Name"] = fileName;
        return http;
    }

    private static Task<string> Of(DefaultHttpContext http) => IdempotencyMiddleware.FingerprintAsync(http.Request, default);

    [Fact]
    public async Task The_same_json_request_has_the_same_fingerprint()
    {
        Assert.Equal(await Of(Request("/api/memory", """{"content":"a"}""")), await Of(Request("/api/memory", """{"content":"a"}""")));
    }

    [Theory]
    [InlineData("/api/memory", """{"content":"b"}""")]
    [InlineData("/api/data/tables/t/records", """{"content":"a"}""")]
    public async Task Another_body_or_path_is_another_request(string path, string body)
    {
        Assert.NotEqual(await Of(Request("/api/memory", """{"content":"a"}""")), await Of(Request(path, body)));
    }

    [Fact]
    public async Task The_query_string_is_part_of_the_request()
    {
        var plain = Request("/api/files", "{}");
        var withQuery = Request("/api/files", "{}");
        withQuery.Request.QueryString = new QueryString("?mode=direct");

        Assert.NotEqual(await Of(plain), await Of(withQuery));
    }

    [Fact]
    public async Task An_upload_is_the_same_request_by_type_length_and_name_without_reading_its_bytes()
    {
        var first = await Of(Request("/api/files", "%PDF-aaaa", "application/pdf", fileName: "a.pdf"));
        var sameShape = await Of(Request("/api/files", "%PDF-bbbb", "application/pdf", fileName: "a.pdf"));
        var otherName = await Of(Request("/api/files", "%PDF-aaaa", "application/pdf", fileName: "b.pdf"));

        Assert.Equal(first, sameShape);
        Assert.NotEqual(first, otherName);
    }

    [Fact]
    public async Task The_json_body_is_still_there_for_the_function_after_fingerprinting()
    {
        var http = Request("/api/memory", """{"content":"kept"}""");
        await Of(http);

        using var reader = new StreamReader(http.Request.Body);
        Assert.Equal("""{"content":"kept"}""", await reader.ReadToEndAsync());
    }
}
