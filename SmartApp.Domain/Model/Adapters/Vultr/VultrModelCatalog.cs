using System.ClientModel;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenAI.Models;

namespace SmartApp.Domain.Model.Adapters.Vultr;

/// <summary>
/// Vultr's <c>GET /v1/models</c>, read on first use and again once <see cref="VultrOptions.ModelListRefresh"/> has passed,
/// against <see cref="VultrOptions.Preferences"/>: the first preference served is the default model. A failed read keeps
/// what was last read (or, never read, assumes the first preference), so a listing outage never stops chat.
/// </summary>
public sealed partial class VultrModelCatalog(OpenAIModelClient? client, IOptions<VultrOptions> options, TimeProvider clock, ILogger<VultrModelCatalog> logger) : IModelCatalog
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile Snapshot? _snapshot;

    public ModelCatalogState State => _snapshot?.State ?? Initial();

    public async ValueTask<string> DefaultModelAsync(CancellationToken cancellationToken) =>
        (await CurrentAsync(cancellationToken).ConfigureAwait(false)).State.Model;

    public async ValueTask<IReadOnlyList<string>> ServedAsync(CancellationToken cancellationToken) =>
        (await CurrentAsync(cancellationToken).ConfigureAwait(false)).Served;

    private ModelCatalogState Initial() => client is null
        ? new(options.Value.Preferences[0], ModelCatalogStatus.NotConfigured, "Vultr:ApiKey is not set: there is no language model.")
        : new(options.Value.Preferences[0], ModelCatalogStatus.Unknown, "Vultr's model list has not been read yet.");

    private async ValueTask<Snapshot> CurrentAsync(CancellationToken cancellationToken)
    {
        if (Fresh() is { } fresh) return fresh;
        if (client is null) return _snapshot ??= new Snapshot(options.Value.Preferences, Initial(), DateTimeOffset.MaxValue);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Fresh() is { } again) return again;
            return _snapshot = await ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private Snapshot? Fresh() => _snapshot is { } last && clock.GetUtcNow() - last.ReadAt < options.Value.ModelListRefresh ? last : null;

    private async Task<Snapshot> ReadAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var preferences = options.Value.Preferences;
        IReadOnlyList<string> served;
        try
        {
            var models = await client!.GetModelsAsync(cancellationToken).ConfigureAwait(false);
            served = models.Value.Select(m => m.Id).ToList();
        }
        catch (Exception ex) when (ex is ClientResultException or HttpRequestException or TimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            LogListFailed(logger, ex.GetType().Name, ex.Message);
            // Keep what was read before; try again after the next interval.
            return _snapshot is { } last
                ? last with { ReadAt = now }
                : new Snapshot(preferences, new(preferences[0], ModelCatalogStatus.Unknown, $"Vultr's model list could not be read ({ex.GetType().Name}); using {preferences[0]}, the first of Vultr:Model."), now);
        }
        var chosen = preferences.FirstOrDefault(served.Contains);
        ModelCatalogState state;
        if (chosen == preferences[0])
            state = new(chosen, ModelCatalogStatus.Preferred, $"{chosen} is served.");
        else if (chosen is not null)
        {
            state = new(chosen, ModelCatalogStatus.FallenBack, $"{preferences[0]} is not served by Vultr; using {chosen}, the first of Vultr:Model that is.");
            LogFallback(logger, preferences[0], chosen);
        }
        else
        {
            state = new(preferences[0], ModelCatalogStatus.Unknown,
                $"None of Vultr:Model ({string.Join(", ", preferences)}) is served by Vultr; it serves {string.Join(", ", served.Take(20))}. Set Vultr:Model to one of them.");
            LogNoneServed(logger, options.Value.Model, string.Join(", ", served.Take(20)));
        }
        return new Snapshot(served, state, now);
    }

    private sealed record Snapshot(IReadOnlyList<string> Served, ModelCatalogState State, DateTimeOffset ReadAt);

    [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "Vultr's model list could not be read ({Error}: {Reason}); keeping the last one")]
    private static partial void LogListFailed(ILogger logger, string error, string reason);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Warning, Message = "Model {Preferred} is not served by Vultr; using {Model}")]
    private static partial void LogFallback(ILogger logger, string preferred, string model);

    [LoggerMessage(EventId = 2303, Level = LogLevel.Error, Message = "None of Vultr:Model ({Preferences}) is served by Vultr, which serves {Served}")]
    private static partial void LogNoneServed(ILogger logger, string preferences, string served);
}
