using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using SmartApp.Fakes;

namespace SmartApp.Reliability;

/// <summary>One user's HTTP client: every answer is timed and classed; a non-2xx that is not a designed ProblemDetails is recorded as undesigned.</summary>
public sealed class Api(HttpClient http, Outcomes outcomes)
{
    /// <summary>Where this client's answers are recorded (an attack the app accepted is recorded there too).</summary>
    public Outcomes Outcomes => outcomes;

    public sealed record Answer(HttpStatusCode Status, JsonElement Body, HttpResponseHeaders Headers)
    {
        public bool Ok => (int)Status is >= 200 and < 300;
    }

    /// <summary>Sends; null when there was no answer at all (a hang past the client's timeout, or the connection dropped) — recorded as undesigned.</summary>
    public async Task<Answer?> SendAsync(string route, HttpRequestMessage request, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            outcomes.Record(route, elapsed, Outcomes.ClassOf(response.StatusCode));
            JsonElement body = default;
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            // An MCP answer is one JSON-RPC message as a server-sent event: its data is the body.
            if (mediaType == "text/event-stream" && text.Split('\n').LastOrDefault(l => l.StartsWith("data: ", StringComparison.Ordinal)) is { } data) text = data[6..];
            if (text.Length > 0 && (mediaType?.EndsWith("json", StringComparison.Ordinal) == true || mediaType == "text/event-stream"))
            {
                try { body = JsonDocument.Parse(text).RootElement.Clone(); }
                catch (JsonException) { outcomes.Undesigned(route, $"{(int)response.StatusCode} with a body that is not JSON"); }
            }
            if (response.StatusCode == HttpStatusCode.InternalServerError && text.Length == 0)
                outcomes.HostFailure(route); // the Functions host's own empty 500: the worker was lost mid-request
            else if (!response.IsSuccessStatusCode
                && (!Outcomes.Designed.Contains((int)response.StatusCode)
                    || response.Content.Headers.ContentType?.MediaType != "application/problem+json"
                    || body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("type", out _)))
                outcomes.Undesigned(route, $"{(int)response.StatusCode} {response.Content.Headers.ContentType?.MediaType}: {text[..Math.Min(200, text.Length)]}");
            return new Answer(response.StatusCode, body, response.Headers);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            outcomes.Record(route, Stopwatch.GetElapsedTime(started).TotalMilliseconds, "no answer");
            outcomes.Undesigned(route, ex is TaskCanceledException ? $"no answer within {http.Timeout.TotalSeconds:F0} s" : $"connection failed: {ex.Message}");
            return null;
        }
    }

    /// <summary>Delivers a Stripe event as Stripe does each attempt: signed at the moment it is sent.</summary>
    public Task<Answer?> DeliverWebhookAsync(string route, string body, CancellationToken cancellationToken = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "billing/webhook") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("Stripe-Signature", FakeStripe.Sign(body, DateTimeOffset.UtcNow));
        return SendAsync(route, request, cancellationToken);
    }

    public Task<Answer?> GetAsync(string route, string path, CancellationToken cancellationToken = default) =>
        SendAsync(route, new HttpRequestMessage(HttpMethod.Get, path), cancellationToken);

    public Task<Answer?> SendJsonAsync(string route, HttpMethod method, string path, object? body, CancellationToken cancellationToken = default) =>
        SendAsync(route, new HttpRequestMessage(method, path) { Content = body is null ? null : System.Net.Http.Json.JsonContent.Create(body) }, cancellationToken);
}
