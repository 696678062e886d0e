using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Common.Search;

/// <summary>Which engine answers memory and file searches on Azure storage.</summary>
public enum SearchEngineKind
{
    /// <summary>Cosmos DB's own vector and full-text search, two ranked queries per search, fused here: nothing is loaded.</summary>
    Native,

    /// <summary>Each instance loads a user's partition into memory on their first search and keeps it (bounded in bytes).</summary>
    InProcess,
}

/// <summary>Settings under <c>Search</c>.</summary>
public sealed class SearchOptions
{
    public const string Section = "Search";

    /// <summary>Native unless the Cosmos account lacks vector and full-text search (see the README's measurements).</summary>
    [EnumDataType(typeof(SearchEngineKind))]
    public SearchEngineKind Engine { get; set; } = SearchEngineKind.Native;
}

/// <summary>What a search may find of a container beyond the owner's scope: a predicate for the in-process engine, the same as SQL for the native one.</summary>
/// <param name="Where">A condition on the item <c>c</c>, with its parameters.</param>
public sealed record SearchFilter<TRow>(Func<TRow, bool> Include, string Where, IReadOnlyList<(string Name, object? Value)> Parameters);

/// <summary>Hybrid search (keywords and meaning, fused by reciprocal rank) over one owner's items of a container.</summary>
public interface IOwnerSearch<TRow> where TRow : class, ISearchRow
{
    /// <summary>The owner's best items for the query, best first, at most <paramref name="limit"/>, among those the filter accepts; only relevant ones.</summary>
    Task<IReadOnlyList<(TRow Row, RankedResult Rank)>> SearchAsync(string owner, string query, float[] queryEmbedding, int limit, SearchFilter<TRow> filter, CancellationToken cancellationToken);

    /// <summary>Something of the owner's was removed out of the engine's sight (the in-process engine rebuilds; the native one has nothing to do).</summary>
    void MarkStale(string owner);
}

public static class SearchEngineServiceCollectionExtensions
{
    /// <summary>The search engine's settings and factory, once (files and memory both ask for them).</summary>
    public static IServiceCollection AddSearchEngine(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(d => d.ServiceType == typeof(SearchEngines))) return services;
        services.AddOptions<SearchOptions>().Bind(configuration.GetSection(SearchOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<SearchEngines>();
        return services;
    }
}

/// <summary>Makes the configured engine for a searched container.</summary>
public sealed class SearchEngines(CosmosStore store, IOptions<SearchOptions> options, TimeProvider clock)
{
    /// <param name="fields">What the native engine reads of an item (a SELECT list over <c>c</c>; never the vector).</param>
    public IOwnerSearch<TRow> For<TRow>(CosmosContainerSpec container, string fields, SearchIndexLimits limits, ILogger logger) where TRow : class, ISearchRow =>
        options.Value.Engine == SearchEngineKind.Native
            ? new NativeSearch<TRow>(store, container, fields, logger)
            : new PartitionSearchIndex<TRow>(store, container, limits, clock, logger);
}
