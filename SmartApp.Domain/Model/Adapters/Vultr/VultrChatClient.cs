using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using OpenAI;

namespace SmartApp.Domain.Model.Adapters.Vultr;

/// <summary>
/// The model as one <see cref="IChatClient"/> over Vultr: each call goes to <see cref="ChatOptions.ModelId"/> when it
/// names one, else to the catalog's default (the first preference Vultr serves).
/// </summary>
public sealed class VultrChatClient(OpenAIClient client, IModelCatalog catalog) : IChatClient
{
    private readonly ConcurrentDictionary<string, IChatClient> _byModel = new(StringComparer.Ordinal);

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await (await ForAsync(options, cancellationToken).ConfigureAwait(false)).GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var model = await ForAsync(options, cancellationToken).ConfigureAwait(false);
        await foreach (var update in model.GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
            yield return update;
    }

    private async ValueTask<IChatClient> ForAsync(ChatOptions? options, CancellationToken cancellationToken)
    {
        var id = options?.ModelId ?? await catalog.DefaultModelAsync(cancellationToken).ConfigureAwait(false);
        return _byModel.GetOrAdd(id, model => client.GetChatClient(model).AsIChatClient());
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
        foreach (var model in _byModel.Values) model.Dispose();
    }
}
