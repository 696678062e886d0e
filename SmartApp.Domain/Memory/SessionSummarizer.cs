using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Search;

namespace SmartApp.Domain.Memory;

/// <summary>
/// Writes the summary of a session: by the language model when it answers in time, otherwise an
/// extractive summary of the session's most central memories. It never fails for want of the model.
/// </summary>
public sealed partial class SessionSummarizer(IChatClient model, IOptions<MemoryOptions> options, ILogger<SessionSummarizer> logger)
{
    private const int MaxPromptChars = 24_000;
    private const int ExtractiveSentences = 3;

    internal const string Instructions =
        "You write long-term memory. Summarise this conversation session in at most five sentences: " +
        "what the user wanted, facts and preferences they stated, decisions made, and open questions. " +
        "Write plain text, in the third person, without a preamble.";

    public async Task<(string Summary, SummaryMethod Method)> SummarizeAsync(IReadOnlyList<NewMemory> memories, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.SummaryTimeout);
        try
        {
            var response = await model.GetResponseAsync(
                [new ChatMessage(ChatRole.System, Instructions), new ChatMessage(ChatRole.User, Transcript(memories))],
                new ChatOptions { Temperature = 0.2f, MaxOutputTokens = 400 }, timeout.Token).ConfigureAwait(false);
            var text = response.Text.Trim();
            if (text.Length > 0) return (text, SummaryMethod.Model);
            LogEmptySummary(logger);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogModelUnavailable(logger, ex.GetType().Name, ex.Message);
        }
        return (Extractive(memories), SummaryMethod.Extractive);
    }

    /// <summary>The memories closest in meaning to the session as a whole (its embeddings' centroid), in the order they were written.</summary>
    public static string Extractive(IReadOnlyList<NewMemory> memories, int count = ExtractiveSentences)
    {
        if (memories.Count == 0) return "";
        var centroid = new float[memories[0].Embedding.Length];
        foreach (var memory in memories)
            System.Numerics.Tensors.TensorPrimitives.Add(centroid, memory.Embedding, centroid);
        centroid = Vectors.Normalize(centroid);
        var central = memories
            .Select((m, index) => (m, index, Score: Vectors.Cosine(centroid, m.Embedding)))
            .OrderByDescending(x => x.Score).Take(count)
            .OrderBy(x => x.m.Entry.At).ThenBy(x => x.index)
            .Select(x => x.m.Entry.Content.Trim());
        return string.Join("\n", central);
    }

    private static string Transcript(IReadOnlyList<NewMemory> memories)
    {
        // Newest entries matter most when the session is too long for one prompt.
        var lines = new List<string>();
        var length = 0;
        foreach (var entry in memories.Select(m => m.Entry).Reverse())
        {
            var line = $"[{entry.At:u}] {entry.Timeline}{(entry.Agent is null ? "" : $" ({entry.Agent})")}: {entry.Content}";
            if (length + line.Length > MaxPromptChars && lines.Count > 0) break;
            lines.Add(line.Length > MaxPromptChars ? line[..MaxPromptChars] : line);
            length += line.Length;
        }
        lines.Reverse();
        return new StringBuilder("Session transcript:\n").AppendJoin('\n', lines).ToString();
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "The model could not summarise the session ({ErrorType}: {Error}); wrote an extractive summary")]
    private static partial void LogModelUnavailable(ILogger logger, string errorType, string error);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "The model returned an empty summary; wrote an extractive summary")]
    private static partial void LogEmptySummary(ILogger logger);
}
