using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using SmartApp.DevHost;
using SmartApp.Domain.Common.Search;
using SmartApp.Domain.Common.Storage;
using SmartApp.Domain.Files;
using SmartApp.Domain.Identity;

namespace SmartApp.Benchmarks;

/// <summary>
/// Files: a large upload through <c>POST /api/files</c> (dev host → worker → Azurite) next to a direct
/// SDK upload to Azurite, with the worker's resident memory sampled during it; ingestion throughput;
/// search latency for one user holding 20,000 chunks (in process against the emulators).
/// </summary>
internal static class FilesBenchmark
{
    private static readonly string[] Words =
        "the a warranty kettle invoice contract tenant budget quarterly policy refund delivery schedule engine battery river mountain harvest recipe garden lighthouse weather report meeting customer supplier payment audit safety training holiday office network server backup"
            .Split(' ');

    public static async Task<int> RunAsync(string devHost, string smartApp, int megabytes, int samples)
    {
        Console.WriteLine($"Files benchmark — {Environment.ProcessorCount} cores; {megabytes} MB uploads, median of 3; search at 20,000 chunks, {samples} samples");
        await using var emulators = await DevHostProcess.StartAsync(devHost, ["--emulators-only"], TimeSpan.FromMinutes(5));
        var state = emulators.State;

        // ---- Upload: through the app vs straight to Azurite with the SDK.
        var port = PortAllocator.FreePort();
        // Three 100 MB uploads and a dozen text files are more than the free plan keeps: the run lifts those limits.
        await using var host = DevHostProcess.Launch(devHost, ["--app", smartApp, "--port", $"{port}"], new Dictionary<string, string>
        {
            ["Billing__Plans__free__Entitlements__StorageBytes"] = $"{10L << 30}",
            ["Billing__Plans__free__Entitlements__Files"] = "1000",
        });
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/api/"), Timeout = TimeSpan.FromMinutes(10) };
        await Bench.WaitHealthyAsync(client);
        var signIn = await (await client.PostAsJsonAsync("auth/demo", new { email = "files-bench@smartapp.local" })).Content.ReadFromJsonAsync<JsonElement>();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", signIn.GetProperty("accessToken").GetString());
        var worker = host.ChildProcessIds("SmartApp.Functions.dll").First();
        var bytes = megabytes * 1024L * 1024;

        var direct = new List<double>();
        var container = new BlobServiceClient(state["Storage__ConnectionString"]).GetBlobContainerClient("bench");
        await container.CreateIfNotExistsAsync();
        var through = new List<double>();
        var memoryGrowth = new List<double>();
        await UploadThroughAppAsync(client, 8 * 1024 * 1024); // warm-up
        for (var i = 0; i < 3; i++)
        {
            var started = Stopwatch.StartNew();
            await container.GetBlobClient($"direct-{i}").UploadAsync(new GeneratedStream(bytes), overwrite: true);
            direct.Add(bytes / started.Elapsed.TotalSeconds / (1024 * 1024));

            var baseline = ResidentMegabytes(worker);
            var peak = baseline;
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!sampling.IsCancellationRequested)
                {
                    peak = Math.Max(peak, ResidentMegabytes(worker));
                    await Task.Delay(10);
                }
            });
            started.Restart();
            await UploadThroughAppAsync(client, bytes);
            through.Add(bytes / started.Elapsed.TotalSeconds / (1024 * 1024));
            sampling.Cancel();
            await sampler;
            memoryGrowth.Add(peak - baseline);
        }

        // ---- Ingestion: a text file of about 2,000 chunks, from upload to indexed.
        var text = Encoding.UTF8.GetBytes(Prose(new Random(7), 2_000_000));
        var ingestClock = Stopwatch.StartNew();
        var uploaded = await UploadAsync(client, text, "prose.txt", "text/plain");
        JsonElement file;
        do
        {
            await Task.Delay(100);
            file = await client.GetFromJsonAsync<JsonElement>($"files/{uploaded.GetProperty("id").GetString()}");
        }
        while (file.GetProperty("status").GetString() is "queued" or "processing");
        var ingestSeconds = ingestClock.Elapsed.TotalSeconds;
        var chunkCount = file.GetProperty("chunkCount").GetInt32();

        // ---- One-page files, one at a time: upload to indexed through the ingestion queue (its polling included).
        var onePage = new List<double>();
        for (var i = 0; i < 10; i++)
        {
            var clock = Stopwatch.StartNew();
            var page = await UploadAsync(client, Encoding.UTF8.GetBytes(Prose(new Random(100 + i), 1_800)), $"page-{i}.txt", "text/plain");
            while ((await client.GetFromJsonAsync<JsonElement>($"files/{page.GetProperty("id").GetString()}")).GetProperty("status").GetString() is "queued" or "processing")
                await Task.Delay(20);
            onePage.Add(clock.Elapsed.TotalMilliseconds);
        }
        await host.DisposeAsync();

        // ---- The model alone: the same file's passages embedded in process, in the ingestion's batch size.
        var (embedRate, embedded) = await EmbeddingRateAsync(state, Encoding.UTF8.GetString(text));

        // ---- Search at 20,000 chunks, in process.
        var (searchP50, searchP95, loadMs) = await SearchAsync(state, samples);

        var ratio = Median(through) / Median(direct);
        Console.WriteLine();
        Console.WriteLine("| measure | figure | target |");
        Console.WriteLine("|---|---|---|");
        Console.WriteLine($"| direct SDK upload to Azurite, {megabytes} MB (MB/s, median of 3) | {Median(direct):F1} | |");
        Console.WriteLine($"| POST /api/files through the dev host and worker, {megabytes} MB (MB/s, median of 3) | {Median(through):F1} | >= 0.7x direct: {ratio:F2}x {(ratio >= 0.7 ? "met" : "MISSED")} |");
        Console.WriteLine($"| worker resident memory growth during the upload (MB, worst of 3) | {memoryGrowth.Max():F0} | <= 100 MB: {(memoryGrowth.Max() <= 100 ? "met" : "MISSED")} |");
        Console.WriteLine($"| the ingested file's final status | {file.GetProperty("status").GetString()} | |");
        var ingestRate = chunkCount / ingestSeconds;
        Console.WriteLine($"| ingestion through the queue, {text.Length / 1_000_000.0:F1} MB of text, upload to indexed (chunks/s) | {ingestRate:F0} ({chunkCount} chunks in {ingestSeconds:F1} s) | >= 0.8x the model alone: {ingestRate / embedRate:F2}x {(ingestRate >= 0.8 * embedRate ? "met" : "MISSED")} |");
        Console.WriteLine($"| the model alone, the same passages in batches of 64 (passages/s) | {embedRate:F0} ({embedded} passages) | |");
        Console.WriteLine($"| one-page file, upload to indexed through the queue (ms, p50 / p95 of 10) | {Bench.Percentile(onePage, 0.5):F0} / {Bench.Percentile(onePage, 0.95):F0} | p50 <= 1,500 ms: {(Bench.Percentile(onePage, 0.5) <= 1500 ? "met" : "MISSED")} |");
        Console.WriteLine($"| search at 20,000 chunks, p50 / p95 (ms); first search loads the index in {loadMs:F0} ms | {searchP50:F1} / {searchP95:F1} | p50 <= 60 ms: {(searchP50 <= 60 ? "met" : "MISSED")} |");
        return 0;
    }

    private static async Task<(double P50, double P95, double LoadMs)> SearchAsync(IReadOnlyDictionary<string, string> state, int samples)
    {
        await using var provider = Bench.InProcess(state, (services, configuration) => services.AddFiles(configuration));
        var store = provider.GetRequiredService<IFileStore>();
        var service = provider.GetRequiredService<FileService>();
        var user = new CurrentUser("bench-files-" + Guid.NewGuid().ToString("N")[..8], null, null, false);
        var random = new Random(11);

        // 20 files of 1,000 chunks of about 1,000 characters. Their embeddings are random unit vectors:
        // ranking costs the same whatever the values, and embedding 20 MB of text would take minutes.
        var seed = Stopwatch.StartNew();
        for (var f = 0; f < 20; f++)
        {
            var fileId = $"file_{Guid.NewGuid():N}";
            await store.CreateAsync(user.UserId, new StoredFile(fileId, $"doc-{f}.txt", "text/plain", 1_000_000, DateTimeOffset.UtcNow) { Status = FileStatus.Indexed }, default);
            var chunks = Enumerable.Range(0, 1000).Select(i =>
            {
                var text = Prose(random, 1000);
                var vector = Vectors.Normalize(Enumerable.Range(0, 384).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray());
                return (new FileChunk($"chk_{fileId[5..]}_{i}", fileId, i, null, 0, text.Length, text), vector);
            }).ToList();
            await store.WriteChunksAsync(user.UserId, fileId, chunks, default);
        }
        Console.WriteLine($"  seeded 20,000 chunks in {seed.Elapsed.TotalSeconds:F0} s");

        string[] queries = ["warranty for the kettle", "quarterly budget meeting", "server backup schedule", "refund policy for delivery", "garden harvest weather"];
        var first = Stopwatch.StartNew();
        await service.SearchAsync(user, queries[0], null, 10, default);
        var loadMs = first.Elapsed.TotalMilliseconds;
        var latencies = new List<double>();
        for (var i = 0; i < samples; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var hits = await service.SearchAsync(user, queries[i % queries.Length], null, 10, default);
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (hits.Count == 0) throw new InvalidOperationException("search found nothing");
        }
        return (Bench.Percentile(latencies, 0.5), Bench.Percentile(latencies, 0.95), loadMs);
    }

    private static async Task UploadThroughAppAsync(HttpClient client, long bytes)
    {
        using var content = new StreamContent(new GeneratedStream(bytes), 81920);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.ContentLength = bytes;
        using var request = new HttpRequestMessage(HttpMethod.Post, "files") { Content = content };
        request.Headers.Add("X-File-Name", "big.bin");
        using var response = await client.SendAsync(request);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"upload failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task<JsonElement> UploadAsync(HttpClient client, byte[] bytes, string name, string contentType)
    {
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        using var request = new HttpRequestMessage(HttpMethod.Post, "files") { Content = content };
        request.Headers.Add("X-File-Name", name);
        using var response = await client.SendAsync(request);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Sentences of the benchmark's vocabulary, about <paramref name="characters"/> long.</summary>
    internal static string Prose(Random random, int characters)
    {
        var text = new StringBuilder(characters + 100);
        while (text.Length < characters)
        {
            var words = random.Next(8, 20);
            for (var w = 0; w < words; w++) text.Append(w == 0 ? "" : " ").Append(Words[random.Next(Words.Length)]);
            text.Append(". ");
        }
        return text.ToString();
    }

    /// <summary>Passages per second from the embedding model alone, for the first 640 passages of <paramref name="text"/> (after a warm-up batch).</summary>
    private static async Task<(double Rate, int Count)> EmbeddingRateAsync(IReadOnlyDictionary<string, string> state, string text)
    {
        await using var provider = Bench.InProcess(state, (services, configuration) => services.AddFiles(configuration));
        var embedder = provider.GetRequiredService<IEmbedder>();
        var passages = SmartApp.Domain.Files.Ingestion.Chunker.Split([new SmartApp.Domain.Files.Ingestion.ExtractedPage(null, text)], 1000).Select(c => c.Text).Take(704).ToList();
        await embedder.EmbedAsync(passages.Take(64).ToList(), default); // warm-up: the model loads
        var timed = passages.Skip(64).ToList();
        var clock = Stopwatch.StartNew();
        foreach (var batch in timed.Chunk(64)) await embedder.EmbedAsync(batch, default);
        return (timed.Count / clock.Elapsed.TotalSeconds, timed.Count);
    }

    private static double ResidentMegabytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
        return 0;
    }

    private static double Median(List<double> values) => Bench.Percentile(values, 0.5);

    /// <summary>Bytes made as they are read (never held whole), not seekable: what a client streaming a large file sends.</summary>
    private sealed class GeneratedStream(long length) : Stream
    {
        private long _position;

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            for (var i = 0; i < n; i++) buffer[offset + i] = (byte)((_position + i) * 31 % 251);
            _position += n;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
