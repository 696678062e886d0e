using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Idempotency;
using SmartApp.Domain.Identity;

namespace SmartApp.Functions.Http;

/// <summary>
/// <c>Idempotency-Key</c> on a signed-in POST: the first request runs and its answer (anything but a
/// 5xx) is kept for a day; a repeat of the same request gets that answer again
/// (<c>Idempotent-Replayed: true</c>) without running; the same key on a different request is a 409,
/// as is a repeat while the first is still running. A request that fails with a 5xx frees its key,
/// so a retry runs. JSON bodies are fingerprinted whole; other bodies (uploads) by method, path,
/// type, length and file name. Streamed answers (<c>text/event-stream</c>) are not kept.
/// </summary>
internal sealed class IdempotencyMiddleware(IdempotencyStore store) : IFunctionsWorkerMiddleware
{
    /// <summary>The response kept for an Idempotency-Key, replayed to a repeat of the same request.</summary>
    internal sealed record StoredResponse(int Status, string? ContentType, string? Location, string? ETag, string Body);

    public const string Header = "Idempotency-Key";
    private const int MaxKeptBytes = 256 * 1024, MaxHashedJsonBytes = 2 * 1024 * 1024;

    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        var http = context.GetHttpContext();
        if (http is null || !HttpMethods.IsPost(http.Request.Method) || !http.Request.Headers.TryGetValue(Header, out var values)
            || http.SignedInUser() is not { } user
            || http.Request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.OrdinalIgnoreCase))
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        var key = values.ToString();
        if (key.Length is 0 or > 255 || key.Any(c => c is < '!' or > '~'))
            throw new ValidationFailedException(Header, "An Idempotency-Key is 1-255 visible ASCII characters.");

        var cancellationToken = http.RequestAborted;
        var fingerprint = await FingerprintAsync(http.Request, cancellationToken).ConfigureAwait(false);
        switch (await store.BeginAsync<StoredResponse>(user.UserId, key, fingerprint, cancellationToken).ConfigureAwait(false))
        {
            case IdempotencyOutcome<StoredResponse>.Mismatch:
                throw new ConflictException("This Idempotency-Key was used with a different request; use a new key for a new request.");
            case IdempotencyOutcome<StoredResponse>.InProgress:
                throw new ConflictException("A request with this Idempotency-Key is still being processed; retry shortly.");
            case IdempotencyOutcome<StoredResponse>.Replay(var kept):
                await ReplayAsync(http.Response, kept, cancellationToken).ConfigureAwait(false);
                return;
        }

        var original = http.Response.Body;
        using var capture = new CapturingStream(original, MaxKeptBytes);
        http.Response.Body = capture;
        try
        {
            await next(context).ConfigureAwait(false);
            // The function's IActionResult is normally executed after the middleware; it is executed here so its body is kept.
            var invocation = context.GetInvocationResult();
            if (invocation.Value is IActionResult action)
            {
                await action.ExecuteResultAsync(new ActionContext(http, http.GetRouteData(), new ActionDescriptor())).ConfigureAwait(false);
                invocation.Value = new EmptyResult();
            }
        }
        catch
        {
            await store.ForgetAsync(user.UserId, key, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        finally
        {
            http.Response.Body = original;
        }

        var response = http.Response;
        if (response.StatusCode >= 500 || capture.Overflowed)
        {
            await store.ForgetAsync(user.UserId, key, CancellationToken.None).ConfigureAwait(false);
            return;
        }
        await store.CompleteAsync(user.UserId, key, fingerprint, new StoredResponse(response.StatusCode, response.ContentType,
            response.Headers.Location.ToString() is { Length: > 0 } location ? location : null,
            response.Headers.ETag.ToString() is { Length: > 0 } etag ? etag : null,
            Encoding.UTF8.GetString(capture.Kept)), CancellationToken.None).ConfigureAwait(false);
    }

    private static async Task ReplayAsync(HttpResponse response, StoredResponse kept, CancellationToken cancellationToken)
    {
        response.StatusCode = kept.Status;
        response.Headers["Idempotent-Replayed"] = "true";
        if (kept.ContentType is not null) response.ContentType = kept.ContentType;
        if (kept.Location is not null) response.Headers.Location = kept.Location;
        if (kept.ETag is not null) response.Headers.ETag = kept.ETag;
        await response.WriteAsync(kept.Body, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What makes two requests the same: method and path, and the JSON body (or, for other bodies, their type, length and name).</summary>
    internal static async Task<string> FingerprintAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"{request.Method} {request.Path}{request.QueryString}\n"));
        var json = request.ContentType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true;
        if (json && request.ContentLength is null or <= MaxHashedJsonBytes)
        {
            request.EnableBuffering();
            var buffer = new byte[81920];
            long total = 0;
            int read;
            while ((read = await request.Body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0 && (total += read) <= MaxHashedJsonBytes)
                hash.AppendData(buffer, 0, read);
            request.Body.Position = 0;
        }
        else
        {
            hash.AppendData(Encoding.UTF8.GetBytes($"{request.ContentType}\n{request.ContentLength}\n{request.Headers["X-File-Name"]}"));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Writes through to the response and keeps a copy of the first bytes (up to a limit).</summary>
    private sealed class CapturingStream(Stream inner, int limit) : Stream
    {
        private readonly MemoryStream _kept = new();

        public bool Overflowed { get; private set; }

        public byte[] Kept => _kept.ToArray();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Keep(buffer.Span);
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count)
        {
            Keep(buffer.AsSpan(offset, count));
            inner.Write(buffer, offset, count);
        }

        private void Keep(ReadOnlySpan<byte> bytes)
        {
            if (Overflowed) return;
            if (_kept.Length + bytes.Length > limit) Overflowed = true;
            else _kept.Write(bytes);
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override void Flush() => inner.Flush();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _kept.Dispose();
            base.Dispose(disposing);
        }
    }
}
