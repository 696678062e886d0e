using Microsoft.Azure.Functions.Worker;
using SmartApp.Domain.Chat;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Functions.Chat;

/// <summary>The model's title for a conversation after its first exchange, off the request path (a failure leaves the first words).</summary>
public sealed class TitleFunctions(ConversationTitles titles)
{
    [Function("TitleConversation")]
    public Task Title([QueueTrigger(WorkQueues.ConversationTitles)] string message, FunctionContext context) =>
        titles.WriteAsync(message, context.CancellationToken);

    [Function("TitleConversationPoisoned")]
    public void GiveUp([QueueTrigger(WorkQueues.ConversationTitles + WorkQueues.PoisonSuffix)] string message) => titles.GiveUp(message);
}
