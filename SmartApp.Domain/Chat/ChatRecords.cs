using SmartApp.Domain.Model;

namespace SmartApp.Domain.Chat;

public sealed record Conversation(string Id, string? Title, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    /// <summary>The working-memory session the conversation's turns are written to.</summary>
    public string? MemorySessionId { get; init; }

    /// <summary>Who wrote the title: the client's is never replaced; the first words of the first message are, by the model's.</summary>
    public TitleSource? TitleBy { get; init; }

    /// <summary>The branches made by regenerating a reply or editing a message, oldest first (<see cref="MainBranch"/> is not listed).</summary>
    public IReadOnlyList<ConversationBranch> Branches { get; init; } = [];

    /// <summary>The branch read and continued when the client names none: the one made or written to last (null: <see cref="MainBranch"/>).</summary>
    public string? CurrentBranch { get; init; }

    /// <summary>The conversation's share links that have not been revoked.</summary>
    public IReadOnlyList<ConversationShare> Shares { get; init; } = [];

    public string? ETag { get; init; }

    /// <summary>The branch every conversation starts on; its messages name no branch.</summary>
    public const string MainBranch = "main";

    public bool HasBranch(string branch) => branch == MainBranch || Branches.Any(b => b.Id == branch);

    /// <summary>
    /// The messages of a branch, as the stretches of each branch it grew from: from the main branch up to the first fork on the
    /// way, from each branch after it up to the next fork, and all of the branch itself.
    /// </summary>
    public IReadOnlyList<BranchSegment> PathOf(string branch)
    {
        var segments = new List<BranchSegment>();
        long? bound = null;
        for (var current = branch; ;)
        {
            segments.Add(new BranchSegment(current == MainBranch ? null : current, bound));
            if (current == MainBranch) break;
            var made = Branches.FirstOrDefault(b => b.Id == current) ?? throw new InvalidOperationException($"No branch '{current}'.");
            bound = bound is { } b ? Math.Min(b, made.ForkAfter) : made.ForkAfter;
            current = made.Parent;
        }
        segments.Reverse();
        return segments;
    }
}

/// <summary>
/// Another course of a conversation from one of its messages on: made by regenerating a reply (the new reply is its first
/// message) or by editing a message (the edited message is). It holds what its parent held up to <see cref="ForkAfter"/>.
/// </summary>
/// <param name="Replaces">The message the branch gives an alternative to (the earlier reply, or the message before its edit).</param>
/// <param name="ForkAfter">The sequence (<see cref="ChatMessageRecord.Sequence"/>) of the parent's last message the branch holds.</param>
public sealed record ConversationBranch(string Id, string Parent, BranchKind Kind, string Replaces, long ForkAfter, DateTimeOffset CreatedAt);

public enum BranchKind
{
    Regenerate,
    Edit,
}

/// <summary>A stretch of a branch's messages: those of one branch (null: the main one), up to a sequence (null: all of them).</summary>
public sealed record BranchSegment(string? Branch, long? UpTo)
{
    public bool Holds(ChatMessageRecord message) => message.Branch == Branch && (UpTo is null || message.Sequence <= UpTo);
}

/// <summary>A branch's path that ends before a message: each stretch bounded by <paramref name="upTo"/>.</summary>
public static class BranchPaths
{
    public static IReadOnlyList<BranchSegment> Until(this IReadOnlyList<BranchSegment> path, long upTo) =>
        [.. path.Select(s => s with { UpTo = Math.Min(s.UpTo ?? long.MaxValue, upTo) })];

    public static bool Holds(this IReadOnlyList<BranchSegment> path, ChatMessageRecord message) => path.Any(s => s.Holds(message));
}

/// <summary>A read-only link to a snapshot of one branch of a conversation, as it was when shared.</summary>
public sealed record ConversationShare(string Id, string Branch, int Messages, DateTimeOffset CreatedAt);

/// <summary>What a share link shows: the title and the messages' text, nothing else of the user (no ids, sources, tools or usage).</summary>
public sealed record SharedConversation(string Id, string? Title, IReadOnlyList<SharedMessage> Messages, DateTimeOffset SharedAt);

public sealed record SharedMessage(MessageRole Role, string Content, DateTimeOffset CreatedAt);

public enum MessageRole
{
    User,
    Assistant,
}

/// <summary>Where part of a reply came from: a passage of a file, or a memory.</summary>
public sealed record Citation(string Type, double Score, string Text)
{
    public const string FileType = "file", MemoryType = "memory";

    public string? FileId { get; init; }
    public string? FileName { get; init; }
    public string? ChunkId { get; init; }
    public int? Page { get; init; }
    public int? Start { get; init; }
    public int? End { get; init; }
    public string? MemoryId { get; init; }
    public string? Kind { get; init; }

    /// <summary>The space the passage came from (<c>personal</c> or <c>org</c>; citations stored before spaces existed are personal).</summary>
    public Identity.SpaceKind Space { get; init; }

    public static Citation Of(Files.FileSearchHit hit) => new(FileType, hit.Score, hit.Chunk.Text)
    {
        Space = hit.Space, FileId = hit.Chunk.FileId, FileName = hit.FileName, ChunkId = hit.Chunk.Id, Page = hit.Chunk.Page, Start = hit.Chunk.Start, End = hit.Chunk.End,
    };

    public static Citation Of(Memory.MemorySearchHit hit) => new(MemoryType, hit.Score, hit.Memory.Content)
    {
        Space = hit.Memory.Space,
        MemoryId = hit.Memory.Id, Kind = Common.EnumNames.Of(hit.Memory.Kind),
    };
}

/// <summary>One user's chat use over one period (a UTC day or month): replies, and the tokens they cost.</summary>
public sealed record UsageTotals(int Messages, long PromptTokens, long CompletionTokens)
{
    public static readonly UsageTotals None = new(0, 0, 0);

    public long Tokens => PromptTokens + CompletionTokens;
}

/// <summary>The periods usage is counted over; quotas reset at the start of the next one (UTC).</summary>
public enum UsagePeriod
{
    Day,
    Month,
}

public sealed record ChatMessageRecord(string Id, string ConversationId, MessageRole Role, string Content, DateTimeOffset CreatedAt)
{
    public IReadOnlyList<Citation> Citations { get; init; } = [];
    public TokenUsage? Usage { get; init; }

    /// <summary>A reply: what its tokens cost at the user's plan's price (<see cref="Common.Quotas.TokenPrice"/>).</summary>
    public MessageCost? Cost { get; init; }

    /// <summary>The model was unavailable: the reply is what memory and files say, not the model's words.</summary>
    public bool Degraded { get; init; }

    /// <summary>The reply stopped before the model finished (the client left, or the model stalled or failed mid-way).</summary>
    public bool Incomplete { get; init; }

    /// <summary>The tools the model called while writing the reply, in order, each with its result.</summary>
    public IReadOnlyList<ToolActivity>? ToolCalls { get; init; }

    /// <summary>The model was still calling tools when the turn's bound on rounds or tokens stopped it.</summary>
    public bool? ToolLimitReached { get; init; }

    /// <summary>A reply: the user message it answers.</summary>
    public string? ReplyTo { get; init; }

    /// <summary>The branch the message was written on (null: <see cref="Conversation.MainBranch"/>).</summary>
    public string? Branch { get; init; }

    /// <summary>
    /// Orders a conversation even when two messages share a timestamp's text form: the microseconds since 1970, doubled, plus one
    /// for a reply. Cosmos DB compares numbers as doubles, so it stays below 2^53 (ticks did not).
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public long Sequence => (CreatedAt.UtcTicks - DateTime.UnixEpoch.Ticks) / 10 * 2 + (Role == MessageRole.Assistant ? 1 : 0);

    /// <summary>A reply still being generated: its text so far is stored as it streams.</summary>
    public bool? Streaming { get; init; }

    /// <summary>A reply being generated: when its text was last stored (it is written at least every <see cref="ChatTurnOptions.ReplyHeartbeat"/>).</summary>
    public DateTimeOffset? UpdatedAt { get; init; }

    /// <summary>A reply whose generation died with its instance before finishing; it is also <see cref="Incomplete"/>.</summary>
    public bool? Interrupted { get; init; }

    /// <summary>Whether a reply said to be streaming has not been written for <paramref name="staleAfter"/>: its generation is gone.</summary>
    public bool IsStale(DateTimeOffset now, TimeSpan staleAfter) => Streaming == true && (UpdatedAt ?? CreatedAt) < now - staleAfter;

    /// <summary>How a stale streaming reply reads: what was stored, incomplete, interrupted.</summary>
    public ChatMessageRecord AsInterrupted() => this with { Streaming = null, Incomplete = true, Interrupted = true };
}

/// <summary>What a reply's tokens cost on the plan it was written under, in cents of the plan's currency.</summary>
public sealed record MessageCost(string Plan, decimal Cents);

/// <summary>One call of a SmartApp tool during a turn: what the model asked for, and what it was given (<c>{ "error": … }</c> for a refusal).</summary>
public sealed record ToolActivity(string CallId, string Name, System.Text.Json.JsonElement Arguments)
{
    public System.Text.Json.JsonElement? Result { get; init; }
}

/// <summary>A message found by a search across conversations, and where it is.</summary>
public sealed record ConversationSearchHit(string ConversationId, string? Title, string MessageId, MessageRole Role, string Text, double Score, DateTimeOffset At);

public sealed record ConversationPage(IReadOnlyList<Conversation> Conversations, string? Cursor);

public sealed record MessagePage(IReadOnlyList<ChatMessageRecord> Messages, string? Cursor);

/// <summary>A generated reply: its text, what it drew on, what it cost, how it ended, and the model that wrote it.</summary>
public sealed record ChatResult(string Text, IReadOnlyList<Citation> Citations, TokenUsage Usage, bool Degraded, bool Incomplete, Exception? Failure, string Model)
{
    /// <summary>SmartApp's tools the model called, with their results.</summary>
    public IReadOnlyList<ToolActivity> ToolActivity { get; init; } = [];

    /// <summary>The turn's bound on tool rounds or tokens stopped the model's lookups.</summary>
    public bool ToolLimitReached { get; init; }

    /// <summary>The caller's tools the model asked to have called (OpenAI-style requests only); the reply ends there.</summary>
    public IReadOnlyList<Microsoft.Extensions.AI.FunctionCallContent> ToolCalls { get; init; } = [];
}

/// <summary>How an OpenAI-style caller tunes the model call; a field left null keeps SmartApp's default.</summary>
public sealed record ModelTuning
{
    /// <summary>One of the models the provider serves (checked before the call).</summary>
    public string? Model { get; init; }
    public float? Temperature { get; init; }
    public float? TopP { get; init; }
    /// <summary>At most the reply budget (Chat:MaxReplyTokens).</summary>
    public int? MaxTokens { get; init; }
    public IReadOnlyList<string>? Stop { get; init; }
    public long? Seed { get; init; }
    public Microsoft.Extensions.AI.ChatResponseFormat? ResponseFormat { get; init; }
    public float? PresencePenalty { get; init; }
    public float? FrequencyPenalty { get; init; }
    /// <summary>The caller's functions, declared to the model; SmartApp never runs them, the caller does.</summary>
    public IReadOnlyList<Microsoft.Extensions.AI.AITool>? Tools { get; init; }
    public Microsoft.Extensions.AI.ChatToolMode? ToolMode { get; init; }

    /// <summary>SmartApp's own tools over the user's data run on the server during the completion (never with <see cref="Tools"/>).</summary>
    public bool SmartAppTools { get; init; }
}

/// <summary>What one turn stored: the user's message and the reply.</summary>
public sealed record ChatTurn(ChatMessageRecord Message, ChatMessageRecord Reply);

/// <summary>Where a reply goes as it is made (an SSE stream, or nowhere until the JSON answer).</summary>
public interface IReplySink
{
    Task StartAsync(string messageId, string replyId, IReadOnlyList<Citation> citations, CancellationToken cancellationToken);

    Task DeltaAsync(string text, CancellationToken cancellationToken);

    /// <summary>The model called one of SmartApp's tools (the result follows once it has run).</summary>
    Task ToolCallAsync(ToolActivity call, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>A tool call's result, as the model is given it.</summary>
    Task ToolResultAsync(ToolActivity call, CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>A sink that keeps nothing: for callers that answer once the reply is complete.</summary>
public sealed class NoReplySink : IReplySink
{
    public static readonly NoReplySink Instance = new();

    private NoReplySink() { }

    public Task StartAsync(string messageId, string replyId, IReadOnlyList<Citation> citations, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task DeltaAsync(string text, CancellationToken cancellationToken) => Task.CompletedTask;
}
