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
    public static CurrentUser CurrentUser(this HttpRequest request) => request.HttpContext.SignedInUser() ?? throw new UnauthorizedException();

    /// <summary>The caller <see cref="AuthenticationMiddleware"/> proved, or null on an anonymous route: the one place it is kept.</summary>
    public static CurrentUser? SignedInUser(this HttpContext context) =>
        context.Items.TryGetValue(typeof(CurrentUser), out var user) ? user as CurrentUser : null;

    public static void SetSignedInUser(this HttpContext context, CurrentUser user) => context.Items[typeof(CurrentUser)] = user;

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
        var body = await request.ReadBodyAsync(maxBytes, "The JSON body").ConfigureAwait(false);
        if (body.Length == 0)
            return whenEmpty ?? throw new ValidationFailedException("body", "A JSON body is required.");
        // JSON is UTF-8 (RFC 8259); the parser does not look inside values it skips, so the whole body is checked here.
        if (!System.Text.Unicode.Utf8.IsValid(body))
            throw new ValidationFailedException("body", "The body is not valid UTF-8.");
        try
        {
            return JsonSerializer.Deserialize<T>(body, JsonDefaults.Options)
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

    /// <summary>
    /// The whole body, refused with a 413 as soon as it passes <paramref name="maxBytes"/> (before it is
    /// buffered further), whether or not it declared its length.
    /// </summary>
    public static async Task<byte[]> ReadBodyAsync(this HttpRequest request, long maxBytes, string what)
    {
        if (request.ContentLength > maxBytes) throw new PayloadTooLargeException($"{what} may be at most {maxBytes} bytes.");
        // What follows the bound is never read by the app: after the 413 the server reads it to the end and discards
        // it, so the client (and the host's proxy in front of the worker) gets that answer, not a dropped connection.
        if (request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = null;
        using var buffer = new MemoryStream();
        await CopyBoundedAsync(request.Body, buffer, maxBytes, what, request.HttpContext.RequestAborted).ConfigureAwait(false);
        return buffer.ToArray();
    }

    /// <summary>Lets the server read up to <paramref name="maxBytes"/> of this request's body (above its default limit).</summary>
    public static void RaiseBodyLimit(this HttpRequest request, long maxBytes)
    {
        if (request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit && limit.MaxRequestBodySize < maxBytes)
            limit.MaxRequestBodySize = maxBytes;
    }

    private static async Task CopyBoundedAsync(Stream source, Stream destination, long maxBytes, string what, CancellationToken cancellationToken)
    {
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await source.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (destination.Length + read > maxBytes)
                throw new PayloadTooLargeException($"{what} may be at most {maxBytes} bytes.");
            await destination.WriteAsync(chunk.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
        }
    }
}
