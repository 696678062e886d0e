using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace SmartApp.Domain.Common.Raindrop;

/// <summary>
/// Raindrop answers some failures with HTTP 200 and says so in the body: <c>execute_query</c>'s <c>status</c>
/// (an HTTP code, e.g. 400 for a statement SQLite refused) and <c>success: false</c> (procedures, sessions,
/// memories). Inside the resilience pipeline this turns such an answer into the failure it is (502, naming
/// what Raindrop said), so it is retried, counted by the circuit, and never taken as done.
/// </summary>
public sealed class RaindropAnswerCheck : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode || response.Content.Headers.ContentType?.MediaType != "application/json") return response;
        await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        var failure = FailureIn(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
        if (failure is null) return response;
        var verb = request.RequestUri?.Segments[^1] ?? "request";
        var failed = new HttpResponseMessage(HttpStatusCode.BadGateway)
        {
            RequestMessage = request,
            Content = new StringContent(JsonSerializer.Serialize(new { message = $"{verb} answered 200 but reported failure: {failure}" }), Encoding.UTF8, "application/json"),
        };
        response.Dispose();
        return failed;
    }

    /// <summary>What the body says went wrong, or null when it reports no failure.</summary>
    public static string? FailureIn(ReadOnlySpan<byte> body)
    {
        JsonElement root;
        try
        {
            root = JsonDocument.Parse(body.ToArray()).RootElement;
        }
        catch (JsonException)
        {
            return null; // the client reports an answer it cannot read
        }
        if (root.ValueKind != JsonValueKind.Object) return null;
        var reason = Text(root, "error") ?? Text(root, "message") ?? Text(root, "aiReasoning");
        if (root.TryGetProperty("success", out var success) && success.ValueKind == JsonValueKind.False)
            return "success: false" + (reason is null ? "" : $" ({reason})");
        // status is an HTTP code here (int64, which may come as a string); a word (a document's indexing status) is not one.
        if (root.TryGetProperty("status", out var status) && Code(status) is { } code && code is < 200 or > 299)
            return $"status {code}" + (reason is null ? "" : $" ({reason})");
        return null;
    }

    private static int? Code(JsonElement status) => status.ValueKind switch
    {
        JsonValueKind.Number when status.TryGetInt32(out var n) => n,
        JsonValueKind.String when int.TryParse(status.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) => n,
        _ => null,
    };

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text
            ? text.Length <= 300 ? text : text[..300]
            : null;
}
