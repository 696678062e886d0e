using System.Net;

namespace SmartApp.Tests.EndToEnd;

/// <summary>A worker process that dies, as the host and a signed-in client meet it.</summary>
[Collection(DevHostCollection.Name)]
public sealed class WorkerRestartTests(DevHostFixture app)
{
    [Fact]
    public async Task A_worker_that_dies_is_restarted_and_sessions_survive_it()
    {
        var (client, _) = await app.SignInAsync(TestUsers.NewEmail());
        var worker = app.WorkerProcessId();
        System.Diagnostics.Process.GetProcessById(worker).Kill();

        // A request that reaches the dead worker before the host notices gets the host's empty 500 (after its
        // connection retries); later ones are held until the new worker is up. Then the same token works again.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        HttpStatusCode status;
        do
        {
            using var response = await client.GetAsync("me");
            status = response.StatusCode;
            if (status != HttpStatusCode.OK)
            {
                Assert.Equal(HttpStatusCode.InternalServerError, status);
                Assert.Empty(await response.Content.ReadAsByteArrayAsync());
            }
            else break;
            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.NotEqual(worker, app.WorkerProcessId());
    }
}
