using System.ComponentModel.DataAnnotations;

namespace SmartApp.Domain.Chat;

/// <summary>Chat limits and the model call's timing: section <c>Chat</c>.</summary>
public sealed class ChatTurnOptions
{
    public const string Section = "Chat";

    /// <summary>Largest message a user may send, in UTF-8 bytes.</summary>
    [Range(1, 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 16 * 1024;

    /// <summary>Tokens the prompt may use: instructions, context, history and the message.</summary>
    [Range(500, 1_000_000)]
    public int PromptTokenBudget { get; set; } = 8000;

    [Range(16, 32_000)]
    public int MaxReplyTokens { get; set; } = 1024;

    /// <summary>How long the model may take to send its first token (retries included) before it counts as unavailable.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan FirstTokenTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>How long the model may pause between tokens before the reply is ended as incomplete.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Earlier messages of the conversation offered to the model (fewer if the budget is short).</summary>
    [Range(0, 200)]
    public int HistoryMessages { get; set; } = 20;

    /// <summary>Memories and file passages gathered as context, each.</summary>
    [Range(0, 50)]
    public int ContextItems { get; set; } = 5;

    /// <summary>
    /// How often a reply being generated is written to storage at most (what a client that reconnects, on any instance, reads
    /// back): a reply costs at most one write per interval however fast the model is.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:10")]
    public TimeSpan ReplyFlushInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>A reply being generated is written at least this often, new text or not, so a reconnecting client can tell it is alive.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan ReplyHeartbeat { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A reply marked as being generated but not written for this long died with its instance: it is marked interrupted.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan ReplyStaleAfter { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often a resumed stream of a reply still being generated (elsewhere) reads it again.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:05")]
    public TimeSpan ResumePollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Retry-After given when the model is down and nothing in memory or files can answer.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan OutageRetryAfter { get; set; } = TimeSpan.FromSeconds(30);
}
