using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;

using Polly.CircuitBreaker;
using SmartApp.Domain.Common.Http;

namespace SmartApp.Domain.Common.Raindrop;

/// <summary>
/// Raindrop's wire format, shared by the memory, bucket and SQL clients: every call is
/// <c>POST /v1/{verb}</c> with a camelCase JSON body and the Bearer key; int64 numbers may arrive as
/// strings. Anything short of an understood 2xx answer is a <see cref="RaindropException"/>.
/// Each area has its own named HttpClient, so its own retries and circuit breaker.
/// </summary>
public abstract class RaindropClient(IHttpClientFactory httpClients, string area)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The named client of an area (<c>raindrop-buckets</c>, …).</summary>
    public static string ClientName(string area) => "raindrop-" + area;

    protected async Task<TResponse> PostAsync<TResponse>(string verb, object body, CancellationToken cancellationToken)
    {
        var http = httpClients.CreateClient(ClientName(area));
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsJsonAsync("v1/" + verb, body, Json, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (OutboundHttp.IsUnreachable(ex, cancellationToken))
        {
            throw new RaindropException(verb, ex is BrokenCircuitException ? "circuit open after repeated failures" : ex.Message, inner: ex);
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                throw new RaindropException(verb, $"{(int)response.StatusCode} {MessageOf(text)}", (int)response.StatusCode);
            }
            try
            {
                return await response.Content.ReadFromJsonAsync<TResponse>(Json, cancellationToken).ConfigureAwait(false)
                    ?? throw new RaindropException(verb, "empty answer", (int)response.StatusCode);
            }
            catch (JsonException ex)
            {
                throw new RaindropException(verb, "answer not understood", (int)response.StatusCode, ex);
            }
        }
    }

    /// <summary>Errors carry <c>message</c> when they are JSON; otherwise the start of the body.</summary>
    private static string MessageOf(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String)
                return message.GetString()!;
        }
        catch (JsonException)
        {
            // Not JSON.
        }
        return body.Length <= 200 ? body : body[..200];
    }
}
