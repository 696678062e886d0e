using SmartApp.Domain.Model;

namespace SmartApp.Domain.Chat;

public sealed record Conversation(string Id, string? Title, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    /// <summary>The working-memory session the conversation's turns are written to.</summary>
    public string? MemorySessionId { get; init; }

    public string? ETag { get; init; }
}

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

    /// <summary>The model was unavailable: the reply is what memory and files say, not the model's words.</summary>
    public bool Degraded { get; init; }

    /// <summary>The reply stopped before the model finished (the client left, or the model stalled or failed mid-way).</summary>
    public bool Incomplete { get; init; }
}

public sealed record ConversationPage(IReadOnlyList<Conversation> Conversations, string? Cursor);

public sealed record MessagePage(IReadOnlyList<ChatMessageRecord> Messages, string? Cursor);

/// <summary>A generated reply: its text, what it drew on, what it cost, how it ended, and the model that wrote it.</summary>
public sealed record ChatResult(string Text, IReadOnlyList<Citation> Citations, TokenUsage Usage, bool Degraded, bool Incomplete, Exception? Failure, string Model)
{
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
}

/// <summary>What one turn stored: the user's message and the reply.</summary>
public sealed record ChatTurn(ChatMessageRecord Message, ChatMessageRecord Reply);

/// <summary>Where a reply goes as it is made (an SSE stream, or nowhere until the JSON answer).</summary>
public interface IReplySink
{
    Task StartAsync(string messageId, string replyId, IReadOnlyList<Citation> citations, CancellationToken cancellationToken);

    Task DeltaAsync(string text, CancellationToken cancellationToken);
}

/// <summary>A sink that keeps nothing: for callers that answer once the reply is complete.</summary>
public sealed class NoReplySink : IReplySink
{
    public static readonly NoReplySink Instance = new();

    private NoReplySink() { }

    public Task StartAsync(string messageId, string replyId, IReadOnlyList<Citation> citations, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task DeltaAsync(string text, CancellationToken cancellationToken) => Task.CompletedTask;
}
