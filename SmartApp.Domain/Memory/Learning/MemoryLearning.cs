using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Search;
using SmartApp.Domain.Common.Storage;
using SmartApp.Domain.Common.Telemetry;
using SmartApp.Domain.Identity;

namespace SmartApp.Domain.Memory.Learning;

/// <summary>
/// Learning after a chat turn, run by the queue-triggered function: the model extracts durable facts from the user's message; each
/// fact on a subject the user asked to forget is dropped; the user's nearest facts are found by the hybrid search (theirs only); the
/// model decides for each fact to add it, update or delete one of those, or do nothing. A redelivered message changes nothing: a
/// message learned from is marked, a learned fact's id comes from its message, and an update from the same message is not applied twice.
/// </summary>
public sealed partial class MemoryLearning(MemoryService memory, IMemoryStore store, FactExtractor extractor, IEmbedder embedder, IOptions<MemoryOptions> options,
    TimeProvider clock, ILogger<MemoryLearning> logger)
{
    public async Task LearnAsync(string text, CancellationToken cancellationToken)
    {
        if (WorkQueue.Read<LearningMessage>(text, logger) is not { } message || string.IsNullOrEmpty(message.UserId) || string.IsNullOrWhiteSpace(message.UserText)
            || string.IsNullOrEmpty(message.MessageId)) return;
        var user = new CurrentUser(message.UserId, null, null, false);
        if (!options.Value.Learning || !(await store.GetSettingsAsync(user.UserId, cancellationToken).ConfigureAwait(false)).Learning)
        {
            LogLearningOff(logger, message.MessageId);
            return;
        }
        if (await store.WasLearnedFromAsync(user.UserId, message.MessageId, cancellationToken).ConfigureAwait(false)) return;

        var facts = await extractor.ExtractAsync(message.UserText, message.ReplyText, cancellationToken).ConfigureAwait(false);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        if (facts.Count > 0)
        {
            var embeddings = await embedder.EmbedAsync(facts.Select(f => f.Text).ToList(), cancellationToken).ConfigureAwait(false);
            var forgotten = await store.ListForgottenAsync(user.UserId, MemoryService.MaxForgottenSubjects, cancellationToken).ConfigureAwait(false);
            var kept = Enumerable.Range(0, facts.Count).Where(i => !MemoryService.IsForgotten(facts[i].Topic, embeddings[i], forgotten)).ToList();
            Count(counts, "forgotten", facts.Count - kept.Count);
            var learnable = kept.Select(i => facts[i]).ToList();
            var nearest = await Task.WhenAll(learnable.Select(f => memory.FindFactsAsync(user, f.Topic is null ? f.Text : $"{f.Topic}: {f.Text}", 5, cancellationToken)))
                .ConfigureAwait(false);
            var decisions = nearest.All(n => n.Count == 0)
                ? learnable.Select((_, i) => new FactDecision(i, FactAction.Add, null, null)).ToList()
                : await extractor.DecideAsync(learnable, nearest, cancellationToken).ConfigureAwait(false);
            var source = new MemorySource(message.ConversationId, message.MessageId, message.At);
            foreach (var decision in decisions)
                Count(counts, EnumNames.Of(await ApplyAsync(user, learnable[decision.Fact], decision, nearest[decision.Fact], source, cancellationToken).ConfigureAwait(false)), 1);
        }
        await store.MarkLearnedFromAsync(user.UserId, message.MessageId, clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        foreach (var (action, count) in counts) SmartAppTelemetry.FactsLearned.Add(count, new KeyValuePair<string, object?>("action", action));
        LogLearned(logger, message.MessageId, facts.Count, string.Join(", ", counts.Select(c => $"{c.Key} {c.Value}")));
    }

    /// <summary>The host gave up on a turn after its last delivery: the turn stays unlearned, the chat was never affected.</summary>
    public Task GiveUpAsync(string text, int attempts)
    {
        var message = WorkQueue.Read<LearningMessage>(text, logger);
        SmartAppTelemetry.Poisoned.Add(1, new KeyValuePair<string, object?>("queue", WorkQueues.MemoryLearning));
        LogGaveUp(logger, message?.MessageId ?? "?", attempts);
        return Task.CompletedTask;
    }

    private async Task<FactAction> ApplyAsync(CurrentUser user, ExtractedFact fact, FactDecision decision, IReadOnlyList<MemoryEntry> nearest, MemorySource source,
        CancellationToken cancellationToken)
    {
        var target = decision.Memory is { } m && m >= 0 && m < nearest.Count ? nearest[m] : null;
        try
        {
            switch (decision.Action)
            {
                case FactAction.Update when target is not null:
                    return await memory.ReviseFactAsync(user, target.Id, decision.Text ?? fact.Text, fact.Topic, source, FactOrigin.Learned, cancellationToken).ConfigureAwait(false) is null
                        ? FactAction.None
                        : FactAction.Update;
                case FactAction.Delete when target is not null:
                    return await memory.DropFactAsync(user, target.Id, cancellationToken).ConfigureAwait(false) ? FactAction.Delete : FactAction.None;
                case FactAction.None:
                    return FactAction.None;
                default:
                    await memory.LearnFactAsync(user, fact.Text, fact.Topic, source, cancellationToken).ConfigureAwait(false);
                    return FactAction.Add;
            }
        }
        catch (QuotaExceededException)
        {
            // The plan's memories are full: the fact is not kept, and trying again would not change that.
            LogNoRoom(logger, source.MessageId ?? "?");
            return FactAction.None;
        }
    }

    private static void Count(Dictionary<string, int> counts, string action, int n)
    {
        if (n > 0) counts[action] = counts.GetValueOrDefault(action) + n;
    }

    [LoggerMessage(EventId = 4201, Level = LogLevel.Information, Message = "Learned from message {MessageId}: {Facts} facts extracted ({Actions})")]
    private static partial void LogLearned(ILogger logger, string messageId, int facts, string actions);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Debug, Message = "Learning is off; message {MessageId} is not learned from")]
    private static partial void LogLearningOff(ILogger logger, string messageId);

    [LoggerMessage(EventId = 4203, Level = LogLevel.Warning, Message = "A fact from message {MessageId} was not kept: the plan's memories are full")]
    private static partial void LogNoRoom(ILogger logger, string messageId);

    [LoggerMessage(EventId = 4204, Level = LogLevel.Error, Message = "Gave up learning from message {MessageId} after {Attempts} attempts")]
    private static partial void LogGaveUp(ILogger logger, string messageId, int attempts);
}
