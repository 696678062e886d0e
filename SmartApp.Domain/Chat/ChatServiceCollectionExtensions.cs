using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace SmartApp.Domain.Chat;

public static class ChatServiceCollectionExtensions
{
    /// <summary>Chat: conversations on Cosmos, grounded in memory and files. Needs storage, the language model, memory and files.</summary>
    public static IServiceCollection AddChat(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ChatTurnOptions>().Bind(configuration.GetSection(ChatTurnOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IConversationStore, Adapters.Cosmos.CosmosConversationStore>();
        services.AddSingleton<IUsageStore, Adapters.Cosmos.CosmosUsageStore>();
        services.AddSingleton<ChatPromptBuilder>();
        services.AddSingleton<IChatContext, ChatContext>();
        services.AddSingleton<LiveReplies>();
        services.TryAddSingleton<ITitleQueue, QueuedTitles>();
        services.AddSingleton<ConversationTitles>();
        services.AddSingleton<ISharedConversationStore, Adapters.Cosmos.CosmosSharedConversationStore>();
        services.AddSingleton<ConversationSharing>();
        services.AddSingleton<ChatService>();
        return services;
    }
}
