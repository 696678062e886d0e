using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Memory.Learning;

/// <summary>
/// One chat turn to learn from, as its queue message carries it: the user's words (and the start of the reply, for context),
/// so the job needs nothing else of the conversation, which may be gone by then.
/// </summary>
public sealed record LearningMessage(string UserId, string ConversationId, string MessageId, DateTimeOffset At, string UserText, string? ReplyText)
{
    /// <summary>Characters of the reply a message carries: enough to see what the user answered.</summary>
    public const int MaxReplyCharacters = 4000;
}

public interface ILearningQueue
{
    /// <summary>Asks for learning from a stored turn; false (logged) when the queue cannot be reached (the turn is not learned from).</summary>
    Task<bool> EnqueueAsync(LearningMessage message, CancellationToken cancellationToken);
}

/// <summary>Learning asked for on the <see cref="WorkQueues.MemoryLearning"/> queue.</summary>
public sealed class QueuedLearning(WorkQueue queue) : ILearningQueue
{
    public Task<bool> EnqueueAsync(LearningMessage message, CancellationToken cancellationToken) =>
        queue.TrySendAsync(WorkQueues.MemoryLearning, message, cancellationToken);
}
