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
public sealed class ChatFunctions(ChatService chat, ConversationSharing sharing)
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

    /// <summary>The conversation and a page of one branch's messages (<c>?branch</c>, or the current one), oldest first.</summary>
    [Function("ChatConversationGet")]
    public async Task<IActionResult> Get([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "chat/conversations/{conversationId}")] HttpRequest req, string conversationId)
    {
        var (conversation, branch, messages) = await chat.GetAsync(req.CurrentUser(), conversationId, req.Query["branch"], req.Query["cursor"], req.QueryInt("limit"),
            req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new ConversationWithMessages(ConversationResponse.From(conversation), messages.Messages, messages.Cursor) { Branch = branch });
    }

    /// <summary>The conversation's branches: the main one, then each made by regenerating a reply or editing a message, oldest first.</summary>
    [Function("ChatBranchList")]
    public async Task<IActionResult> Branches([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "chat/conversations/{conversationId}/branches")] HttpRequest req, string conversationId)
    {
        var conversation = await chat.GetBranchesAsync(req.CurrentUser(), conversationId, req.HttpContext.RequestAborted).ConfigureAwait(false);
        var current = ChatService.BranchOf(conversation, null);
        BranchResponse[] branches =
        [
            new(Conversation.MainBranch, null, null, null, conversation.CreatedAt, current == Conversation.MainBranch),
            .. conversation.Branches.Select(b => new BranchResponse(b.Id, b.Parent, b.Kind, b.Replaces, b.CreatedAt, current == b.Id)),
        ];
        return new OkObjectResult(new { current, branches });
    }

    public sealed record BranchResponse(string Id, string? Parent, BranchKind? Kind, string? Replaces, DateTimeOffset CreatedAt, bool Current);

    /// <summary><c>{ branch? }</c>: a read-only link to a snapshot of a branch of the conversation as it is now.</summary>
    [Function("ChatShareCreate")]
    public async Task<IActionResult> Share([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "chat/conversations/{conversationId}/shares")] HttpRequest req, string conversationId)
    {
        var body = await req.ReadJsonAsync(whenEmpty: new ShareRequest(null)).ConfigureAwait(false);
        var share = await sharing.ShareAsync(req.CurrentUser(), conversationId, body.Branch, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new CreatedResult(ShareResponse.UrlOf(share.Id), ShareResponse.From(share));
    }

    public sealed record ShareRequest(string? Branch);

    [Function("ChatShareList")]
    public async Task<IActionResult> Shares([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "chat/conversations/{conversationId}/shares")] HttpRequest req, string conversationId)
    {
        var shares = await sharing.ListAsync(req.CurrentUser(), conversationId, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new { shares = shares.Select(ShareResponse.From) });
    }

    [Function("ChatShareRevoke")]
    public async Task<IActionResult> Revoke([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "chat/conversations/{conversationId}/shares/{shareId}")] HttpRequest req,
        string conversationId, string shareId)
    {
        await sharing.RevokeAsync(req.CurrentUser(), conversationId, shareId, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new NoContentResult();
    }

    /// <summary>A shared conversation, to anyone with the link (no sign-in); never cached, never indexed: a revoked link is 404 at once.</summary>
    [Function("SharedConversationGet"), AllowAnonymous]
    public async Task<IActionResult> Shared([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "shares/{shareId}")] HttpRequest req, string shareId)
    {
        req.HttpContext.Response.Headers.CacheControl = "no-store";
        req.HttpContext.Response.Headers["X-Robots-Tag"] = "noindex";
        var snapshot = await sharing.OpenAsync(shareId, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new { title = snapshot.Title, sharedAt = snapshot.SharedAt, messages = snapshot.Messages });
    }

    public sealed record ShareResponse(string Id, string Url, string Branch, int Messages, DateTimeOffset CreatedAt)
    {
        public static string UrlOf(string id) => $"/api/shares/{id}";

        public static ShareResponse From(ConversationShare s) => new(s.Id, UrlOf(s.Id), s.Branch, s.Messages, s.CreatedAt);
    }

    /// <summary><c>{ query, limit? }</c>: messages across all the user's conversations, best first, each with its conversation and message id.</summary>
    [Function("ChatSearch")]
    public async Task<IActionResult> Search([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "chat/search")] HttpRequest req)
    {
        var body = await req.ReadJsonAsync<SearchRequest>().ConfigureAwait(false);
        var results = await chat.SearchAsync(req.CurrentUser(), body.Query, body.Limit, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new { results });
    }

    public sealed record SearchRequest(string? Query, int? Limit);

    /// <summary><c>{ title }</c>: names the conversation (a written title never replaces it).</summary>
    [Function("ChatConversationRename")]
    public async Task<IActionResult> Rename([HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = "chat/conversations/{conversationId}")] HttpRequest req, string conversationId)
    {
        var body = await req.ReadJsonAsync<StartRequest>().ConfigureAwait(false);
        var conversation = await chat.RenameAsync(req.CurrentUser(), conversationId, body.Title, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(ConversationResponse.From(conversation));
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
        await TurnAsync(req, (sink, cancellationToken) => chat.SendAsync(req.CurrentUser(), conversationId, body.ToChatRequest(), sink, cancellationToken)).ConfigureAwait(false);
    }

    /// <summary><c>{ content, branch?, … }</c>: edits one of the user's messages; the edit and its reply start a new branch from there.</summary>
    [Function("ChatMessageEdit")]
    public async Task Edit([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "chat/conversations/{conversationId}/messages/{messageId}/edit")] HttpRequest req,
        string conversationId, string messageId)
    {
        var body = await req.ReadJsonAsync<SendRequest>().ConfigureAwait(false);
        await TurnAsync(req, (sink, cancellationToken) => chat.EditAsync(req.CurrentUser(), conversationId, messageId, body.ToChatRequest(), sink, cancellationToken)).ConfigureAwait(false);
    }

    /// <summary><c>{ branch?, useMemory?, … }</c>: writes a reply again on a new branch; the earlier reply stays on the branch it was on.</summary>
    [Function("ChatMessageRegenerate")]
    public async Task Regenerate([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "chat/conversations/{conversationId}/messages/{messageId}/regenerate")] HttpRequest req,
        string conversationId, string messageId)
    {
        var body = await req.ReadJsonAsync(whenEmpty: new RegenerateRequest(null, null, null, null, null)).ConfigureAwait(false);
        var request = new ChatRequest(null, body.UseMemory ?? true, body.UseFiles ?? true, body.FileIds, body.UseTools ?? true, body.Branch);
        await TurnAsync(req, (sink, cancellationToken) => chat.RegenerateAsync(req.CurrentUser(), conversationId, messageId, request, sink, cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>
    /// Answers a turn. With <c>Accept: text/event-stream</c> the reply streams as SSE (<c>meta</c>, <c>delta</c>…, then <c>done</c> or
    /// <c>error</c>), each event flushed as it is made; otherwise one JSON answer.
    /// </summary>
    private static async Task TurnAsync(HttpRequest req, Func<IReplySink, CancellationToken, Task<ChatTurn>> turnAsync)
    {
        var response = req.HttpContext.Response;
        var cancellationToken = req.HttpContext.RequestAborted;
        if (!req.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase)))
        {
            var turn = await turnAsync(NoReplySink.Instance, cancellationToken).ConfigureAwait(false);
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

        var sink = new SseSink(response, 0, cancellationToken);
        try
        {
            // A streamed reply is generated to its end even if the client goes: it is stored as it streams, and the client can
            // follow it again (GET …/messages/{replyId}/stream with Last-Event-ID).
            var turn = await turnAsync(sink, CancellationToken.None).ConfigureAwait(false);
            await sink.DoneAsync(turn.Reply).ConfigureAwait(false);
        }
        catch (Exception ex) when (sink.Started)
        {
            // The stream has begun (status 200 is sent): the failure travels as an `error` event with the same ProblemDetails shape.
            var problem = ProblemTypes.From(ex);
            await sink.EventAsync("error", ProblemWriter.ToProblemDetails(problem, req.HttpContext), null).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A reply's stream again, for a client whose connection dropped: with <c>Last-Event-ID</c> (or <c>?lastEventId</c>) the events it
    /// missed, then the rest as it is generated, on whichever instance is generating it; without, the whole reply.
    /// </summary>
    [Function("ChatReplyStream")]
    public async Task Resume([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "chat/conversations/{conversationId}/messages/{messageId}/stream")] HttpRequest req,
        string conversationId, string messageId)
    {
        var lastEventId = req.Headers["Last-Event-ID"].FirstOrDefault() ?? req.Query["lastEventId"].FirstOrDefault();
        var after = 0;
        if (!string.IsNullOrEmpty(lastEventId) && !int.TryParse(lastEventId, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out after))
            throw new ValidationFailedException("Last-Event-ID", "'Last-Event-ID' must be the id of an event of this reply's stream (a whole number).");
        var cancellationToken = req.HttpContext.RequestAborted;
        var sink = new SseSink(req.HttpContext.Response, after, cancellationToken);
        try
        {
            var reply = await chat.ResumeAsync(req.CurrentUser(), conversationId, messageId, after, sink, cancellationToken).ConfigureAwait(false);
            await sink.DoneAsync(reply).ConfigureAwait(false);
        }
        catch (Exception ex) when (sink.Started && !cancellationToken.IsCancellationRequested)
        {
            await sink.EventAsync("error", ProblemWriter.ToProblemDetails(ProblemTypes.From(ex), req.HttpContext), null).ConfigureAwait(false);
        }
    }

    public sealed record StartRequest(string? Title);

    public sealed record SendRequest(string? Content, bool? UseMemory, bool? UseFiles, IReadOnlyList<string>? FileIds, bool? UseTools, string? Branch)
    {
        public ChatRequest ToChatRequest() => new(Content, UseMemory ?? true, UseFiles ?? true, FileIds, UseTools ?? true, Branch);
    }

    public sealed record RegenerateRequest(bool? UseMemory, bool? UseFiles, IReadOnlyList<string>? FileIds, bool? UseTools, string? Branch);

    public sealed record ConversationResponse(string Id, string? Title, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
    {
        /// <summary>Who wrote the title: <c>client</c>, <c>message</c> (its first words) or <c>model</c>.</summary>
        public TitleSource? TitleBy { get; init; }

        /// <summary>The branch read and continued when none is named.</summary>
        public string CurrentBranch { get; init; } = Conversation.MainBranch;

        /// <summary>How many branches the conversation has (the main one included).</summary>
        public int Branches { get; init; } = 1;

        public static ConversationResponse From(Conversation c) => new(c.Id, c.Title, c.CreatedAt, c.UpdatedAt)
        {
            TitleBy = c.TitleBy, CurrentBranch = ChatService.BranchOf(c, null), Branches = c.Branches.Count + 1,
        };
    }

    /// <summary>
    /// Server-sent events on the response: each event written and flushed at once (no buffering on the way). The text events carry
    /// ids: the length of the reply's text so far (<c>meta</c> the offset the stream starts at), which is what a client that reconnects
    /// sends back as <c>Last-Event-ID</c>. Once the client has gone, events are dropped, and the reply goes on being generated and stored.
    /// </summary>
    private sealed class SseSink(HttpResponse response, int offset, CancellationToken clientGone) : IReplySink
    {
        private int _offset = offset;

        public bool Started { get; private set; }

        public async Task StartAsync(string messageId, string replyId, IReadOnlyList<Citation> citations, CancellationToken cancellationToken)
        {
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache";
            response.Headers["X-Accel-Buffering"] = "no";
            Started = true;
            await EventAsync("meta", new MetaEvent(messageId, replyId, citations), _offset).ConfigureAwait(false);
        }

        public Task DeltaAsync(string text, CancellationToken cancellationToken)
        {
            _offset += text.Length;
            return EventAsync("delta", new DeltaEvent(text), _offset);
        }

        public Task ToolCallAsync(ToolActivity call, CancellationToken cancellationToken) =>
            EventAsync("tool_call", new ToolCallEvent(call.CallId, call.Name, call.Arguments), null);

        public Task ToolResultAsync(ToolActivity call, CancellationToken cancellationToken) =>
            EventAsync("tool_result", new ToolResultEvent(call.CallId, call.Name, call.Result), null);

        public Task DoneAsync(ChatMessageRecord reply) =>
            EventAsync("done", new DoneEvent(reply.Usage, reply.Degraded, reply.Incomplete)
            {
                Citations = reply.ToolCalls is null ? null : reply.Citations, ToolLimitReached = reply.ToolLimitReached, Interrupted = reply.Interrupted,
            }, _offset);

        public async Task EventAsync(string name, object data, int? id)
        {
            if (clientGone.IsCancellationRequested) return;
            var payload = Encoding.UTF8.GetBytes($"{(id is { } n ? $"id: {n}\n" : "")}event: {name}\ndata: {JsonSerializer.Serialize(data, data.GetType(), JsonDefaults.Options)}\n\n");
            try
            {
                await response.Body.WriteAsync(payload, clientGone).ConfigureAwait(false);
                await response.Body.FlushAsync(clientGone).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException || clientGone.IsCancellationRequested)
            {
                // The client went away: the rest of the reply is still generated and stored for it to resume.
            }
        }
    }

    public sealed record ConversationList(IReadOnlyList<ConversationResponse> Conversations, string? Cursor);

    public sealed record ConversationWithMessages(ConversationResponse Conversation, IReadOnlyList<ChatMessageRecord> Messages, string? Cursor)
    {
        /// <summary>The branch these messages are of.</summary>
        public string Branch { get; init; } = SmartApp.Domain.Chat.Conversation.MainBranch;
    }

    /// <summary>The SSE events of a streamed reply: <c>meta</c> first, <c>delta</c> for each piece of text, <c>done</c> last.</summary>
    public sealed record MetaEvent(string MessageId, string ReplyId, IReadOnlyList<Citation> Citations);

    public sealed record DeltaEvent(string Text);

    /// <summary>The end of the reply; after tool calls, <c>citations</c> is every source of the reply (the context and what the tools found).</summary>
    public sealed record DoneEvent(TokenUsage? Usage, bool Degraded, bool Incomplete)
    {
        public IReadOnlyList<Citation>? Citations { get; init; }
        public bool? ToolLimitReached { get; init; }

        /// <summary>A resumed reply whose generation died with its instance: what was stored, incomplete.</summary>
        public bool? Interrupted { get; init; }
    }

    /// <summary>The model called one of SmartApp's tools (<c>tool_call</c>), and what it was given back (<c>tool_result</c>).</summary>
    public sealed record ToolCallEvent(string CallId, string Name, JsonElement Arguments);

    public sealed record ToolResultEvent(string CallId, string Name, JsonElement? Result);
}
