using System.Text.Json;
using Microsoft.AspNetCore.Http;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Identity;

namespace SmartApp.Functions.Http;

internal static class HttpRequestExtensions
{
    /// <summary>Largest JSON body a route reads unless it says otherwise.</summary>
    public const long DefaultMaxJsonBytes = 1024 * 1024;

    /// <summary>The caller proven by the bearer token (set by <see cref="AuthenticationMiddleware"/>).</summary>
    public static CurrentUser CurrentUser(this HttpRequest request) =>
        request.HttpContext.Items.TryGetValue(typeof(CurrentUser), out var user) && user is CurrentUser current
            ? current
            : throw new UnauthorizedException();

    /// <summary>An optional whole-number query parameter; anything else is a 400 naming it.</summary>
    public static int? QueryInt(this HttpRequest request, string name) =>
        request.Query[name].ToString() is { Length: > 0 } text
            ? int.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var value)
                ? value
                : throw new ValidationFailedException(name, $"'{name}' must be a whole number.")
            : null;

    /// <summary>
    /// Reads a JSON body. An absent body gives <paramref name="whenEmpty"/> (or a 400 when that is null);
    /// a non-JSON content type is a 415, an oversized body a 413, malformed JSON a 400 saying where.
    /// </summary>
    public static async Task<T> ReadJsonAsync<T>(this HttpRequest request, T? whenEmpty = null, long maxBytes = DefaultMaxJsonBytes)
        where T : class
    {
        if (request.ContentLength is 0 || (request.ContentLength is null && !request.Headers.ContainsKey("Transfer-Encoding")))
            return whenEmpty ?? throw new ValidationFailedException("body", "A JSON body is required.");
        if (!IsJson(request.ContentType))
            throw new UnsupportedMediaTypeException("Send the body as application/json.");
        if (request.ContentLength > maxBytes)
            throw new PayloadTooLargeException($"The JSON body may be at most {maxBytes} bytes.");

        using var buffer = new MemoryStream();
        await CopyBoundedAsync(request.Body, buffer, maxBytes, request.HttpContext.RequestAborted).ConfigureAwait(false);
        if (buffer.Length == 0)
            return whenEmpty ?? throw new ValidationFailedException("body", "A JSON body is required.");
        // JSON is UTF-8 (RFC 8259); the parser does not look inside values it skips, so the whole body is checked here.
        if (!System.Text.Unicode.Utf8.IsValid(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)))
            throw new ValidationFailedException("body", "The body is not valid UTF-8.");
        try
        {
            return JsonSerializer.Deserialize<T>(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), JsonDefaults.Options)
                ?? throw new ValidationFailedException("body", "The body must be a JSON object, not null.");
        }
        catch (JsonException ex)
        {
            var where = ex.LineNumber is { } line ? $" at line {line + 1}, byte {ex.BytePositionInLine + 1}" : "";
            var path = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "body" : ex.Path.TrimStart('$', '.');
            throw new ValidationFailedException(path, $"The body is not valid JSON for this route{where}.");
        }
    }

    private static bool IsJson(string? contentType) =>
        contentType is not null && (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)
            || (contentType.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && contentType.Contains("+json", StringComparison.OrdinalIgnoreCase)));

    private static async Task CopyBoundedAsync(Stream source, Stream destination, long maxBytes, CancellationToken cancellationToken)
    {
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await source.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (destination.Length + read > maxBytes)
                throw new PayloadTooLargeException($"The JSON body may be at most {maxBytes} bytes.");
            await destination.WriteAsync(chunk.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
        }
    }
}
