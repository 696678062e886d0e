using System.Net;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Storage;
using SmartApp.Domain.Files.Adapters.Blob;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class BlobUploadTests
{
    /// <summary>Blob storage that restarted while an upload was under way: its staged blocks are gone when their list is committed.</summary>
    private sealed class RestartedStorage : HttpMessageHandler
    {
        public List<string> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var query = request.RequestUri!.Query;
            Requests.Add($"{request.Method} {query}");
            var lost = request.Method == HttpMethod.Put && !query.Contains("restype=container", StringComparison.Ordinal) && !query.Contains("comp=block&", StringComparison.Ordinal);
            if (!lost) return Task.FromResult(new HttpResponseMessage(HttpStatusCode.Created) { Content = new StringContent("") });
            var response = new HttpResponseMessage(HttpStatusCode.BadRequest)
            {
                Content = new StringContent("<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>InvalidBlockList</Code><Message>The specified block list is invalid.</Message></Error>",
                    System.Text.Encoding.UTF8, "application/xml"),
            };
            response.Headers.Add("x-ms-error-code", "InvalidBlockList");
            return Task.FromResult(response);
        }
    }

    [Fact]
    public async Task Blocks_lost_by_a_storage_restart_ask_the_client_to_send_the_file_again()
    {
        var storage = new RestartedStorage();
        var service = new BlobServiceClient(new Uri("http://127.0.0.1:10000/devstoreaccount1"),
            new BlobClientOptions { Transport = new HttpClientTransport(new HttpClient(storage)), Retry = { MaxRetries = 0 } });
        var store = new BlobFileContentStore(new BlobStore(service, Options.Create(new BlobStorageOptions()), NullLogger<BlobStore>.Instance), TimeProvider.System);

        var refused = await Assert.ThrowsAsync<UpstreamUnavailableException>(() =>
            store.UploadAsync("u1", "file_1", new MemoryStream("hello"u8.ToArray()), "text/plain", 1024, default));

        Assert.Contains("send the file again", refused.Message, StringComparison.Ordinal);
        Assert.NotNull(refused.RetryAfter);
        Assert.Contains(storage.Requests, r => r.StartsWith("PUT", StringComparison.Ordinal) && !r.Contains("restype=container", StringComparison.Ordinal));
    }
}
