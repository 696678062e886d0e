using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SmartApp.Tests.EndToEnd;

namespace SmartApp.Tests.Contract;

/// <summary>
/// A corpus of hostile input sent to every route the OpenAPI document lists: every answer must be a
/// designed 4xx ProblemDetails (the few Kestrel answers itself before the app sees the request are
/// named below), never a 5xx, and the app must stay up.
/// </summary>
[Collection(DevHostCollection.Name)]
public sealed class HostileInputTests(DevHostFixture app)
{
    /// <summary>Answers the server itself gives before any app code runs (URI or headers too long; and a 400 with no body for a malformed request line). They have no body.</summary>
    private static readonly HashSet<int> EdgeStatuses = [414, 431];

    private async Task<(OpenApiContract Contract, HttpClient User)> SetUpAsync()
    {
        using var response = await app.Client.GetAsync("openapi.json");
        var contract = new OpenApiContract(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("hostile"));
        return (contract, user);
    }

    private static bool Secured(OpenApiContract.Operation operation) =>
        !(operation.Definition.TryGetProperty("security", out var security) && security.GetArrayLength() == 0);

    private static string PathWith(OpenApiContract.Operation operation, Func<string, string> value) =>
        System.Text.RegularExpressions.Regex.Replace(operation.Path, @"\{([^}]+)\}", m => value(m.Groups[1].Value)).TrimStart('/');

    /// <summary>A plausible value per path parameter, so only the part under attack is hostile.</summary>
    private static string Benign(string parameter) => parameter switch
    {
        "table" => "notes",
        "asset" => "app.js",
        _ => "x1",
    };

    /// <summary>Empty when the answer is designed; otherwise why not.</summary>
    private static async Task<string?> JudgeAsync(HttpResponseMessage response, string what, bool successAllowed = false)
    {
        var status = (int)response.StatusCode;
        var text = await response.Content.ReadAsStringAsync();
        if (status is >= 200 and < 400 && successAllowed) return null;
        if (status >= 500 || status < 400) return $"{what}: {status} {text[..Math.Min(200, text.Length)]}";
        if (EdgeStatuses.Contains(status) || (status == 400 && text.Length == 0)) return null; // the server's own refusals of malformed requests have no body
        // The OpenAI-compatible routes answer in OpenAI's error body, which OpenAI clients parse (see OpenAIErrors).
        if (response.RequestMessage?.RequestUri?.AbsolutePath.StartsWith("/api/v1/", StringComparison.Ordinal) == true)
            return response.Content.Headers.ContentType?.MediaType == "application/json"
                && JsonDocument.Parse(text).RootElement.TryGetProperty("error", out var error)
                && error.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String
                && error.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
                ? null : $"{what}: {status} without OpenAI's error body ({response.Content.Headers.ContentType}) {text[..Math.Min(200, text.Length)]}";
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json") return $"{what}: {status} without a ProblemDetails ({response.Content.Headers.ContentType})";
        using var problem = JsonDocument.Parse(text);
        return problem.RootElement.TryGetProperty("type", out _) && problem.RootElement.GetProperty("status").GetInt32() == status ? null : $"{what}: {status} with a malformed problem {text}";
    }

    private async Task AssertStillUpAsync()
    {
        using var health = await app.Client.GetAsync("health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Traversal_control_characters_and_oversized_values_in_every_path_parameter_get_designed_4xx()
    {
        var (contract, user) = await SetUpAsync();
        // ("%2e%2e" alone is left out: it is a dot segment, resolved before routing as RFC 3986 says, so it names another route.)
        string[] hostile = ["..%2F..%2Fetc%2Fpasswd", "..%5C..%5Cweb.config", "a%00b", "a%0d%0aSet-Cookie:%20x=1", "a%09b", "%C0%AE%C0%AE%2F", "%FF%FE", "%F0%9F%92%A5", new string('a', 5000), "x'%20OR%20'1'='1"];
        var failures = new List<string>();
        foreach (var operation in contract.Operations.Where(o => o.Path.Contains('{')))
        {
            foreach (var value in hostile)
            {
                var path = PathWith(operation, _ => value);
                using var request = new HttpRequestMessage(new HttpMethod(operation.Method), path);
                if (operation.Method is "POST" or "PUT" or "PATCH") request.Content = JsonContent.Create(new { content = "x", value = "x", question = "x", name = "n", city = "c" });
                using var response = await user.SendAsync(request);
                // A procedure's key is the user's own name for it (stored by its hash): printable text within the length limit is a key.
                var freeText = operation.Path.Contains("{key}", StringComparison.Ordinal) && !value.Contains("%0", StringComparison.Ordinal) && value.Length <= 200;
                if (await JudgeAsync(response, $"{operation.Id} {operation.Method} /{path[..Math.Min(80, path.Length)]}", successAllowed: freeText) is { } failure) failures.Add(failure);
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        await AssertStillUpAsync();
    }

    [Fact]
    public async Task Malformed_deep_oversized_and_mistyped_bodies_on_every_route_that_takes_one_get_designed_4xx()
    {
        var (contract, user) = await SetUpAsync();
        var huge = "{\"value\":\"" + new string('x', 3 * 1024 * 1024) + "\"}";
        var bodies = new (string Name, Func<HttpContent> Content, bool MayBeAccepted)[]
        {
            ("deep JSON", () => new StringContent(new string('[', 5000) + new string(']', 5000), Encoding.UTF8, "application/json"), false),
            ("invalid UTF-8", () => new ByteArrayContent([0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0xFF, 0x22, 0x7D]) { Headers = { ContentType = new("application/json") } }, false),
            ("null", () => new StringContent("null", Encoding.UTF8, "application/json"), false),
            ("a bare number", () => new StringContent("1e400", Encoding.UTF8, "application/json"), false),
            ("huge numbers", () => new StringContent("""{"limit":1e400,"size":99999999999999999999999999,"last":-1e308,"n":1e400,"content":1e400,"value":1e400,"question":1e400,"terms":1e400,"query":1e400,"document":1e400,"plan":1e400,"title":1e400}""", Encoding.UTF8, "application/json"), true),
            ("nulls for objects", () => new StringContent("""{"content":null,"value":null,"document":null,"where":null,"orderBy":[null],"select":[null],"fileIds":[null],"kinds":[null],"messages":[null]}""", Encoding.UTF8, "application/json"), true),
            ("wrong content type", () => new StringContent("""{"content":"hello"}""", Encoding.UTF8, "text/plain"), false),
            ("form instead of JSON", () => new FormUrlEncodedContent(new Dictionary<string, string> { ["content"] = "hello" }), false),
            ("3 MB", () => new StringContent(huge, Encoding.UTF8, "application/json"), false),
            ("3 MB without a length (chunked)", () => new StreamContent(new GeneratedStream(Encoding.UTF8.GetBytes(huge), huge.Length)) { Headers = { ContentType = new("application/json") } }, false),
        };
        var failures = new List<string>();
        foreach (var operation in contract.Operations.Where(o => o.Method is "POST" or "PUT" or "PATCH" && o.Definition.TryGetProperty("requestBody", out _)))
        {
            // Uploads take any bytes as a file (their own limits are tested with the files); Stripe's route checks its signature first.
            var takesAnyBytes = operation.Id is "uploadFile";
            foreach (var (name, content, mayBeAccepted) in bodies)
            {
                var path = PathWith(operation, Benign);
                using var request = new HttpRequestMessage(new HttpMethod(operation.Method), path) { Content = content() };
                if (operation.Id == "stripeWebhook") request.Headers.Add("Stripe-Signature", "t=1,v1=00");
                using var response = await user.SendAsync(request);
                if (await JudgeAsync(response, $"{operation.Id} with {name}", successAllowed: mayBeAccepted || takesAnyBytes) is { } failure) failures.Add(failure);
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        await AssertStillUpAsync();
    }

    [Fact]
    public async Task Every_secured_route_refuses_missing_forged_and_misplaced_credentials_with_401()
    {
        var (contract, user) = await SetUpAsync();
        var token = user.DefaultRequestHeaders.Authorization!.Parameter!;
        var parts = token.Split('.');
        static string B64(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var payload = parts.Length == 3 ? parts[1] : B64("""{"sub":"usr_x"}""");
        var attacks = new (string Name, Action<HttpRequestMessage> Apply)[]
        {
            ("no credentials", _ => { }),
            ("garbage token", r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "garbage")),
            ("alg none", r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", $"{B64("""{"alg":"none","typ":"JWT"}""")}.{payload}.")),
            ("signature stripped", r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", $"{parts[0]}.{parts[1]}.")),
            ("payload swapped", r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", $"{parts[0]}.{B64("""{"sub":"usr_someone_else","exp":4102444800}""")}.{parts[2]}")),
            ("HS256 with a guessed key", r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", $"{B64("""{"alg":"HS256","typ":"JWT"}""")}.{payload}.{B64("forged")}")),
            ("token in the query string", r => r.RequestUri = new Uri(r.RequestUri!.OriginalString + (r.RequestUri.OriginalString.Contains('?') ? "&" : "?") + "access_token=" + token, UriKind.Relative)),
            ("Basic scheme", r => r.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:admin")))),
            ("forged session cookie", r => r.Headers.Add("Cookie", "__Host-smartapp-session=CfDJ8forged")),
        };
        var failures = new List<string>();
        using var anonymous = new HttpClient { BaseAddress = app.Client.BaseAddress };
        foreach (var operation in contract.Operations.Where(Secured))
        {
            foreach (var (name, apply) in attacks)
            {
                using var request = new HttpRequestMessage(new HttpMethod(operation.Method), new Uri(PathWith(operation, Benign), UriKind.Relative));
                if (operation.Method is "POST" or "PUT" or "PATCH") request.Content = JsonContent.Create(new { content = "x" });
                apply(request);
                using var response = await anonymous.SendAsync(request);
                if (response.StatusCode != HttpStatusCode.Unauthorized)
                    failures.Add($"{operation.Id} with {name}: {(int)response.StatusCode}");
                else if (await JudgeAsync(response, $"{operation.Id} with {name}") is { } failure) failures.Add(failure);
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        await AssertStillUpAsync();
    }

    [Fact]
    public async Task Oversized_headers_slow_and_broken_bodies_leave_the_app_up()
    {
        var (_, user) = await SetUpAsync();
        using (var request = new HttpRequestMessage(HttpMethod.Get, "me"))
        {
            request.Headers.Add("X-Padding", new string('h', 64 * 1024));
            using var response = await user.SendAsync(request);
            Assert.Null(await JudgeAsync(response, "64 KB header"));
        }

        // A body that trickles in over three seconds is read to its end and answered.
        using (var slow = new HttpRequestMessage(HttpMethod.Post, "data/tables/slow/records") { Content = new StreamContent(new TricklingStream("""{"id":"s1","note":"slow"}"""u8.ToArray(), TimeSpan.FromSeconds(3))) })
        {
            slow.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await user.SendAsync(slow);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        // A body whose sender gives up half-way changes nothing.
        using (var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(500)))
        using (var broken = new HttpRequestMessage(HttpMethod.Post, "data/tables/slow/records") { Content = new StreamContent(new TricklingStream("""{"id":"s2","note":"never finished"}"""u8.ToArray(), TimeSpan.FromSeconds(10))) })
        {
            broken.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => user.SendAsync(broken, cancel.Token));
        }
        await Task.Delay(500);
        using (var missing = await user.GetAsync("data/tables/slow/records/s2"))
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        await AssertStillUpAsync();
    }

    [Fact]
    public async Task A_50_MB_chunked_webhook_body_is_refused_with_413_before_it_is_read_to_its_end()
    {
        // 50 MB without a length, whose sender pauses before its last megabyte: the app must refuse it (and say so
        // in its log) during the pause, having read no more than its bound; the server discards the rest unread.
        const string Refusal = "Function BillingWebhook refused the request: 413";
        static int Count(string text, string what) => (text.Length - text.Replace(what, "", StringComparison.Ordinal).Length) / what.Length;
        var refusalsBefore = Count(app.Output, Refusal);
        var body = new GeneratedStream("{\"id\":\"evt_x\",\"padding\":\""u8.ToArray(), 50L * 1024 * 1024, fill: (byte)'x', stallAt: 49L * 1024 * 1024, stall: TimeSpan.FromSeconds(4));
        using var request = new HttpRequestMessage(HttpMethod.Post, "billing/webhook") { Content = new StreamContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("Stripe-Signature", "t=1,v1=00");
        var sending = app.Client.SendAsync(request);

        var refusedDuringPause = false;
        while (!sending.IsCompleted && !refusedDuringPause)
        {
            refusedDuringPause = Count(app.Output, Refusal) > refusalsBefore && !body.Finished;
            await Task.Delay(20);
        }
        using var response = await sending;
        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
        Assert.Contains("A webhook body may be at most", problem.GetProperty("detail").GetString());
        Assert.True(refusedDuringPause, "the refusal was not logged before the body ended");
        await AssertStillUpAsync();
    }

    [Fact]
    public async Task An_Idempotency_Key_replays_its_answer_and_refuses_a_different_request()
    {
        var (_, user) = await SetUpAsync();
        async Task<HttpResponseMessage> PostAsync(object body, string key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "data/tables/orders/records") { Content = JsonContent.Create(body) };
            request.Headers.Add("Idempotency-Key", key);
            return await user.SendAsync(request);
        }

        var key = Guid.NewGuid().ToString();
        using var first = await PostAsync(new { item = "kettle", qty = 1 }, key);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var created = await first.Content.ReadFromJsonAsync<JsonElement>();
        using var again = await PostAsync(new { item = "kettle", qty = 1 }, key);
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.Equal("true", again.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(created.GetProperty("id").GetString(), (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString());
        Assert.Equal(first.Headers.Location, again.Headers.Location);

        using var different = await PostAsync(new { item = "teapot", qty = 9 }, key);
        var problem = await ProblemAssert.IsProblemAsync(different, HttpStatusCode.Conflict, "conflict");
        Assert.Contains("different request", problem.GetProperty("detail").GetString());

        using var bad = await PostAsync(new { item = "mug" }, "a key with spaces");
        await ProblemAssert.IsProblemAsync(bad, HttpStatusCode.BadRequest, "validation");

        var query = await user.PostAsJsonAsync("data/tables/orders/query", new { limit = 50 });
        Assert.Single((await query.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray()); // one record, not two
    }

    /// <summary>A request body that arrives a byte at a time over <paramref name="over"/>.</summary>
    /// <summary><paramref name="head"/>, then <paramref name="fill"/> up to <paramref name="length"/> bytes, made as it is read (never whole in memory) and of no declared length.</summary>
    private sealed class GeneratedStream(byte[] head, long length, byte fill = (byte)' ', long stallAt = long.MaxValue, TimeSpan stall = default) : Stream
    {
        private long _position;

        /// <summary>The last byte has been read.</summary>
        public bool Finished => Interlocked.Read(ref _position) >= length;

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position >= stallAt && stall > TimeSpan.Zero)
            {
                Thread.Sleep(stall);
                stall = TimeSpan.Zero;
            }
            var n = (int)Math.Min(count, length - _position);
            if (_position < stallAt) n = (int)Math.Min(n, stallAt - _position);
            for (var i = 0; i < n; i++) buffer[offset + i] = _position + i < head.Length ? head[_position + i] : fill;
            Interlocked.Add(ref _position, n);
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Interlocked.Read(ref _position); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private sealed class TricklingStream(byte[] bytes, TimeSpan over) : Stream
    {
        private int _position;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position >= bytes.Length) return 0;
            await Task.Delay(over / bytes.Length, cancellationToken);
            buffer.Span[0] = bytes[_position++];
            return 1;
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => bytes.Length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
