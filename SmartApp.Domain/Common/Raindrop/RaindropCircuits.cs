using System.Collections.Concurrent;
using Polly.CircuitBreaker;

namespace SmartApp.Domain.Common.Raindrop;

/// <summary>The circuit state of each Raindrop area, for health reports (the breakers themselves live in each area's HttpClient pipeline).</summary>
public sealed class RaindropCircuits
{
    private readonly ConcurrentDictionary<string, CircuitBreakerStateProvider> _providers = new(StringComparer.Ordinal);

    public CircuitBreakerStateProvider For(string area) => _providers.GetOrAdd(area, _ => new CircuitBreakerStateProvider());

    public CircuitState StateOf(string area) => _providers.TryGetValue(area, out var provider) ? provider.CircuitState : CircuitState.Closed;
}
