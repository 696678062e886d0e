namespace SmartApp.Domain.Model;

/// <summary>The models the provider serves now, and the one a call uses when it names none.</summary>
public interface IModelCatalog
{
    /// <summary>The first of the configured preferences the provider serves (the first preference when the list cannot be read).</summary>
    ValueTask<string> DefaultModelAsync(CancellationToken cancellationToken);

    /// <summary>The models the provider serves (the preferences, when the list has never been read).</summary>
    ValueTask<IReadOnlyList<string>> ServedAsync(CancellationToken cancellationToken);

    /// <summary>What the last read found: for health details.</summary>
    ModelCatalogState State { get; }
}

/// <summary>What the catalog knows: the model in use, whether it is a fallback, and why (a message naming the setting).</summary>
public sealed record ModelCatalogState(string Model, ModelCatalogStatus Status, string Message);

public enum ModelCatalogStatus
{
    /// <summary>The first preference is served.</summary>
    Preferred,

    /// <summary>The first preference is not served; a later one is used.</summary>
    FallenBack,

    /// <summary>No preference is served, or the list could not be read: calls use the first preference and may fail.</summary>
    Unknown,

    /// <summary>No API key: there is no model.</summary>
    NotConfigured,
}
