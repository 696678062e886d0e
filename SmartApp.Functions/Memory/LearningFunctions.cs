using Microsoft.Azure.Functions.Worker;
using SmartApp.Domain.Common.Storage;
using SmartApp.Domain.Memory.Learning;
using SmartApp.Functions.Files;

namespace SmartApp.Functions.Memory;

/// <summary>
/// Learning after each chat turn, on the platform's queue machinery: a message per turn, delivered again when learning fails
/// (the model down or answering out of shape), moved to the poison queue after host.json's <c>maxDequeueCount</c>.
/// </summary>
public sealed class LearningFunctions(MemoryLearning learning)
{
    [Function("LearnFromTurn")]
    public Task Learn([QueueTrigger(WorkQueues.MemoryLearning)] string message, FunctionContext context) =>
        learning.LearnAsync(message, context.CancellationToken);

    [Function("LearnFromTurnPoisoned")]
    public Task GiveUp([QueueTrigger(WorkQueues.MemoryLearning + WorkQueues.PoisonSuffix)] string message, FunctionContext context) =>
        learning.GiveUpAsync(message, IngestionFunctions.MaxDequeueCount);
}
