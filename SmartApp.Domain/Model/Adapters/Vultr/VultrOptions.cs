using System.ComponentModel.DataAnnotations;

namespace SmartApp.Domain.Model.Adapters.Vultr;

/// <summary>Vultr Serverless Inference (OpenAI-compatible) settings: section <c>Vultr</c>. Without an API key the model is reported unavailable.</summary>
public sealed class VultrOptions
{
    public const string Section = "Vultr";

    /// <summary>The OpenAI-compatible base, ending in <c>/v1</c>.</summary>
    [Required, Url]
    public string BaseUrl { get; set; } = "https://api.vultrinference.com/v1";

    /// <summary>The subscription's inference key. A Key Vault reference in Azure; empty locally unless you have one.</summary>
    public string ApiKey { get; set; } = "";

    /// <summary>
    /// The chat model, or a comma-separated preference list: the first one Vultr serves (its <c>GET /v1/models</c>,
    /// read at start and every <see cref="ModelListRefresh"/>) is used, so a retired model falls back to the next.
    /// </summary>
    [Required]
    public string Model { get; set; } = "deepseek-v4.1-flash,glm-5.2,llama-3.3-70b-instruct-fp8";

    /// <summary>How long one instance trusts the model list it read.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan ModelListRefresh { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary><see cref="Model"/> as the preference list it is, in order.</summary>
    public IReadOnlyList<string> Preferences => Model.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Longest wait for one model call before it is retried or given up.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public bool IsConfigured => !string.IsNullOrWhiteSpace(ApiKey);
}
