using System.ComponentModel.DataAnnotations;

namespace SmartApp.Domain.Agents;

/// <summary>The tools the model may call over the user's own data, in chat and through MCP: section <c>Agents</c>.</summary>
public sealed class AgentOptions : IValidatableObject
{
    public const string Section = "Agents";

    /// <summary>Whether chat turns offer the model the tools (a request may still turn them off with <c>useTools: false</c>).</summary>
    public bool ChatTools { get; set; } = true;

    /// <summary>Rounds of tool calls in one turn; the round after the last is asked to answer without tools.</summary>
    [Range(1, 10)]
    public int MaxToolRounds { get; set; } = 4;

    /// <summary>Model tokens (prompt and completion, all rounds together) one turn may spend before it stops calling tools.</summary>
    [Range(1_000, 1_000_000)]
    public int MaxTurnTokens { get; set; } = 40_000;

    /// <summary>Largest tool result given to the model and stored with the turn (UTF-8 bytes of JSON); longer lists lose their last items.</summary>
    [Range(1_024, 1_048_576)]
    public int MaxToolResultBytes { get; set; } = 16 * 1024;

    /// <summary>How long one tool call may take.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan ToolTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// The OAuth authorization server MCP clients sign users in with (your WorkOS AuthKit domain, <c>https://….authkit.app</c>),
    /// named in the protected-resource metadata. Empty: none is named (demo mode: clients bring a demo token).
    /// </summary>
    public string? AuthorizationServer { get; set; }

    /// <summary>How long a model that refused a request with tools is called without them (one instance's memory).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan NoToolsModelMemory { get; set; } = TimeSpan.FromMinutes(10);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrEmpty(AuthorizationServer) && !(Uri.TryCreate(AuthorizationServer, UriKind.Absolute, out var server) && server.Scheme == Uri.UriSchemeHttps))
            yield return new ValidationResult("Agents:AuthorizationServer must be an https URL (your AuthKit domain), or empty.", [nameof(AuthorizationServer)]);
    }
}
