using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace SmartApp.Domain.Agents;

public static class AgentsServiceCollectionExtensions
{
    /// <summary>The user's memory, files and data as tools, for chat turns and the MCP server. Needs memory, files, data and billing's quotas.</summary>
    public static IServiceCollection AddAgents(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AgentOptions>().Bind(configuration.GetSection(AgentOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<AgentTools>();
        services.AddSingleton<IAgentToolbox>(sp => sp.GetRequiredService<AgentTools>());
        services.AddSingleton<AgentResources>();
        return services;
    }
}
