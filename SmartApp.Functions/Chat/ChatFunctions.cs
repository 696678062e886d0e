using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Net.Http.Headers;
using SmartApp.Domain.Chat;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Model;
using SmartApp.Functions.Http;

namespace SmartApp.Functions.Chat;

/// <summary>Conversations with the model (the OpenAPI document's "Chat" tag), grounded in the user's memory and files.</summary>
public sealed class ChatFunctions(ChatService chat)
{
    [Function("ChatConversationStart")]
    public async Task<IActionResult> Start([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "chat/conversations")] HttpRequest req)
    {
        var body = await req.ReadJsonAsync(whenEmpty: new StartRequest(null)).ConfigureAwait(false);
        var conversation = await chat.StartAsync(req.CurrentUser(), body.Title, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new CreatedResult($"/api/chat/conversations/{conversation.Id}", ConversationResponse.From(conversation));
    }

    [Function("ChatConversationList")]
    public async Task<IActionResult> List([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "chat/conversations")] HttpRequest req)
    {
        var page = await chat.ListAsync(req.CurrentUser(), req.Query["cursor"], req.QueryInt("limit"), req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new ConversationList(page.Conversations.Select(ConversationResponse.From).ToList(), page.Cursor));
    }

    /// <summary>The conversation and a page of its messages, oldest first.</summary>
    [Function("ChatConversationGet")]
    public async Task<IActionResult> Get([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "chat/conversations/{conversationId}")] HttpRequest req, string conversationId)
    {
        var (conversation, messages) = await chat.GetAsync(req.CurrentUser(), conversationId, req.Query["cursor"], req.QueryInt("limit"), req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new ConversationWithMessages(ConversationResponse.From(conversation), messages.Messages, messages.Cursor));
    }

    [Function("ChatConversationDelete")]
    public async Task<IActionResult> Delete([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "chat/conversations/{conversationId}")] HttpRequest req, string conversationId)
    {
        await chat.DeleteAsync(req.CurrentUser(), conversationId, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new NoContentResult();
    }

    /// <summary>
    /// One turn. With <c>Accept: text/event-stream</c> the reply streams as SSE (<c>meta</c>, <c>delta</c>…,
    /// then <c>done</c> or <c>error</c>), each event flushed as it is made; otherwise one JSON answer.
    /// </summary>
    [Function("ChatMessageSend")]
    public async Task Send([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "chat/conversations/{conversationId}/messages")] HttpRequest req, string conversationId)
    {
        var body = await req.ReadJsonAsync<SendRequest>().ConfigureAwait(false);
        var request = new ChatRequest(body.Content, body.UseMemory ?? true, body.UseFiles ?? true, body.FileIds, body.UseTools ?? true);
        var response = req.HttpContext.Response;
        var cancellationToken = req.HttpContext.RequestAborted;
        if (!req.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase)))
        {
            var turn = await chat.SendAsync(req.CurrentUser(), conversationId, request, NoReplySink.Instance, cancellationToken).ConfigureAwait(false);
            response.ContentType = "application/json";
            await JsonSerializer.SerializeAsync(response.Body, new
            {
                message = turn.Message,
                reply = turn.Reply,
                citations = turn.Reply.Citations,
                usage = turn.Reply.Usage,
                degraded = turn.Reply.Degraded,
                toolCalls = turn.Reply.ToolCalls,
            }, JsonDefaults.Options, cancellationToken).ConfigureAwait(false);
            return;
        }

        var sink = new SseSink(response);
        try
        {
            var turn = await chat.SendAsync(req.CurrentUser(), conversationId, request, sink, cancellationToken).ConfigureAwait(false);
            await sink.EventAsync("done", new DoneEvent(turn.Reply.Usage, turn.Reply.Degraded, turn.Reply.Incomplete)
            {
                Citations = turn.Reply.ToolCalls is null ? null : turn.Reply.Citations, ToolLimitReached = turn.Reply.ToolLimitReached,
            }, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (sink.Started && !cancellationToken.IsCancellationRequested)
        {
            // The stream has begun (status 200 is sent): the failure travels as an `error` event with the same ProblemDetails shape.
            var problem = ProblemTypes.From(ex);
            await sink.EventAsync("error", ProblemWriter.ToProblemDetails(problem, req.HttpContext), CancellationToken.None).ConfigureAwait(false);
        }
    }

    public sealed record StartRequest(string? Title);

    public sealed record SendRequest(string? Content, bool? UseMemory, bool? UseFiles, IReadOnlyList<string>? FileIds, bool? UseTools);

    public sealed record ConversationResponse(string Id, string? Title, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
    {
        public static ConversationResponse From(Conversation c) => new(c.Id, c.Title, c.CreatedAt, c.UpdatedAt);
    }

    /// <summary>Server-sent events on the response: each event written and flushed at once (no buffering on the way).</summary>
    private sealed class SseSink(HttpResponse response) : IReplySink
    {
        public bool Started { get; private set; }

        public async Task StartAsync(string messageId, string replyId, IReadOnlyList<Citation> citations, CancellationToken cancellationToken)
        {
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache";
            response.Headers["X-Accel-Buffering"] = "no";
            Started = true;
            await EventAsync("meta", new MetaEvent(messageId, replyId, citations), cancellationToken).ConfigureAwait(false);
        }

        public Task DeltaAsync(string text, CancellationToken cancellationToken) => EventAsync("delta", new DeltaEvent(text), cancellationToken);

        public Task ToolCallAsync(ToolActivity call, CancellationToken cancellationToken) =>
            EventAsync("tool_call", new ToolCallEvent(call.CallId, call.Name, call.Arguments), cancellationToken);

        public Task ToolResultAsync(ToolActivity call, CancellationToken cancellationToken) =>
            EventAsync("tool_result", new ToolResultEvent(call.CallId, call.Name, call.Result), cancellationToken);

        public async Task EventAsync(string name, object data, CancellationToken cancellationToken)
        {
            var payload = Encoding.UTF8.GetBytes($"event: {name}\ndata: {JsonSerializer.Serialize(data, data.GetType(), JsonDefaults.Options)}\n\n");
            await response.Body.WriteAsync(payload, cancellationToken).ConfigureAwait(false);
            await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public sealed record ConversationList(IReadOnlyList<ConversationResponse> Conversations, string? Cursor);

    public sealed record ConversationWithMessages(ConversationResponse Conversation, IReadOnlyList<ChatMessageRecord> Messages, string? Cursor);

    /// <summary>The SSE events of a streamed reply: <c>meta</c> first, <c>delta</c> for each piece of text, <c>done</c> last.</summary>
    public sealed record MetaEvent(string MessageId, string ReplyId, IReadOnlyList<Citation> Citations);

    public sealed record DeltaEvent(string Text);

    /// <summary>The end of the reply; after tool calls, <c>citations</c> is every source of the reply (the context and what the tools found).</summary>
    public sealed record DoneEvent(TokenUsage? Usage, bool Degraded, bool Incomplete)
    {
        public IReadOnlyList<Citation>? Citations { get; init; }
        public bool? ToolLimitReached { get; init; }
    }

    /// <summary>The model called one of SmartApp's tools (<c>tool_call</c>), and what it was given back (<c>tool_result</c>).</summary>
    public sealed record ToolCallEvent(string CallId, string Name, JsonElement Arguments);

    public sealed record ToolResultEvent(string CallId, string Name, JsonElement? Result);
}
