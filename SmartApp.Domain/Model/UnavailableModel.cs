using Microsoft.Extensions.AI;
using SmartApp.Domain.Common.Errors;

namespace SmartApp.Domain.Model;

/// <summary>The model when no key is configured: every call fails the way an outage does, so callers fall back.</summary>
internal sealed class UnavailableModel : IChatClient
{
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw Unavailable();

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw Unavailable();

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose() { }

    private static UpstreamUnavailableException Unavailable() => new("The language model is not configured (Vultr:ApiKey).");
}
