using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Chat;
using SmartApp.Domain.Chat.Adapters.Vultr;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Errors;
using SmartApp.Functions.Http;

namespace SmartApp.Functions.Chat;

/// <summary>
/// <c>POST /api/v1/chat/completions</c> in OpenAI's wire format, streaming and not, so an OpenAI client
/// works against SmartApp by changing its base URL (to <c>…/api/v1</c>) and key (a SmartApp token).
/// Each request runs the grounded pipeline for the signed-in user; citations ride in an extra
/// <c>citations</c> field that standard clients ignore.
/// </summary>
public sealed class OpenAICompatibleFunctions(ChatService chat, IOptions<VultrOptions> vultr)
{
    [Function("OpenAIChatCompletions")]
    public async Task Complete([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/chat/completions")] HttpRequest req)
    {
        // Typed: a field of the wrong type ("model": 1) is a 400 naming it; fields SmartApp does not use are ignored, as OpenAI clients send many.
        var body = await req.ReadJsonAsync<CompletionRequest>().ConfigureAwait(false);
        if (body.Messages is not { Count: > 0 }) throw new ValidationFailedException("messages", "'messages' is required: at least the user's message.");
        if (body.Messages.Count > MaxMessages) throw new ValidationFailedException("messages", $"At most {MaxMessages} messages.");
        var messages = body.Messages.Select((m, i) => ReadMessage(m, i)).ToList();
        var model = body.Model ?? vultr.Value.Model;
        var stream = body.Stream == true;
        var includeUsage = body.StreamOptions?.IncludeUsage == true;
        var id = $"chatcmpl-{Guid.NewGuid():N}";
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var response = req.HttpContext.Response;
        var cancellationToken = req.HttpContext.RequestAborted;

        if (!stream)
        {
            var result = await chat.CompleteAsync(req.CurrentUser(), messages, NoReplySink.Instance, cancellationToken).ConfigureAwait(false);
            response.ContentType = "application/json";
            await JsonSerializer.SerializeAsync(response.Body, new JsonObject
            {
                ["id"] = id, ["object"] = "chat.completion", ["created"] = created, ["model"] = model,
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0,
                    ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = result.Text },
                    ["finish_reason"] = result.Incomplete ? "length" : "stop",
                }),
                ["usage"] = Usage(result.Usage),
                ["citations"] = JsonSerializer.SerializeToNode(result.Citations, JsonDefaults.Options),
                ["degraded"] = result.Degraded,
            }, cancellationToken: cancellationToken).ConfigureAwait(false);
            return;
        }

        var sink = new ChunkSink(response, id, created, model);
        try
        {
            var result = await chat.CompleteAsync(req.CurrentUser(), messages, sink, cancellationToken).ConfigureAwait(false);
            await sink.ChunkAsync(new JsonObject(), result.Incomplete ? "length" : "stop", null, CancellationToken.None).ConfigureAwait(false);
            if (includeUsage) await sink.ChunkAsync(null, null, Usage(result.Usage), CancellationToken.None).ConfigureAwait(false);
            await sink.DoneAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (sink.Started && !cancellationToken.IsCancellationRequested)
        {
            var problem = ProblemTypes.From(ex);
            await sink.WriteAsync(new JsonObject { ["error"] = new JsonObject { ["message"] = problem.Detail ?? problem.Kind.Title, ["type"] = problem.Kind.Type, ["code"] = problem.Kind.Status } }).ConfigureAwait(false);
            await sink.DoneAsync().ConfigureAwait(false);
        }
    }

    private const int MaxMessages = 500;

    public sealed record CompletionRequest(string? Model, IReadOnlyList<CompletionMessage?>? Messages, bool? Stream, [property: JsonPropertyName("stream_options")] StreamOptionsRequest? StreamOptions);

    public sealed record CompletionMessage(string? Role, JsonElement Content);

    public sealed record StreamOptionsRequest([property: JsonPropertyName("include_usage")] bool? IncludeUsage);

    /// <summary>A message as OpenAI clients send it: <c>content</c> a string or a list of parts (text parts are kept).</summary>
    private static (MessageRole? Role, string Content) ReadMessage(CompletionMessage? message, int index)
    {
        var field = $"messages[{index}]";
        if (message is null) throw new ValidationFailedException(field, "A message must be an object with 'role' and 'content'.");
        var content = message.Content.ValueKind switch
        {
            JsonValueKind.String => message.Content.GetString()!,
            JsonValueKind.Array => string.Concat(message.Content.EnumerateArray().Select(part => TextPart(part, field))),
            JsonValueKind.Null or JsonValueKind.Undefined => "",
            _ => throw new ValidationFailedException($"{field}.content", "'content' must be a string or a list of content parts."),
        };
        return message.Role switch
        {
            "user" => (MessageRole.User, content),
            "assistant" => (MessageRole.Assistant, content),
            "system" or "developer" => (null, content),
            _ => throw new ValidationFailedException($"{field}.role", $"Unsupported message role '{message.Role}'; use system, developer, user or assistant."),
        };
    }

    private static string TextPart(JsonElement part, string field)
    {
        if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            throw new ValidationFailedException($"{field}.content", "Each content part must be an object with a string 'type'.");
        if (type.GetString() != "text") return "";
        return part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String
            ? text.GetString()!
            : throw new ValidationFailedException($"{field}.content", "A text part needs a string 'text'.");
    }

    private static JsonObject Usage(TokenUsage usage) => new()
    {
        ["prompt_tokens"] = usage.PromptTokens, ["completion_tokens"] = usage.CompletionTokens, ["total_tokens"] = usage.PromptTokens + usage.CompletionTokens,
    };

    /// <summary>OpenAI's streaming format: <c>data: {chat.completion.chunk}</c> lines, flushed one by one, ending with <c>data: [DONE]</c>.</summary>
    private sealed class ChunkSink(HttpResponse response, string id, long created, string model) : IReplySink
    {
        public bool Started { get; private set; }

        public async Task StartAsync(string messageId, string replyId, IReadOnlyList<Citation> citations, CancellationToken cancellationToken)
        {
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache";
            Started = true;
            var first = Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null, null);
            first["citations"] = JsonSerializer.SerializeToNode(citations, JsonDefaults.Options);
            await WriteAsync(first, cancellationToken).ConfigureAwait(false);
        }

        public Task DeltaAsync(string text, CancellationToken cancellationToken) =>
            WriteAsync(Chunk(new JsonObject { ["content"] = text }, null, null), cancellationToken);

        public Task ChunkAsync(JsonObject? delta, string? finishReason, JsonObject? usage, CancellationToken cancellationToken) =>
            WriteAsync(Chunk(delta, finishReason, usage), cancellationToken);

        public async Task WriteAsync(JsonObject data, CancellationToken cancellationToken = default)
        {
            await response.Body.WriteAsync(Encoding.UTF8.GetBytes($"data: {data.ToJsonString()}\n\n"), cancellationToken).ConfigureAwait(false);
            await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        public async Task DoneAsync()
        {
            await response.Body.WriteAsync("data: [DONE]\n\n"u8.ToArray()).ConfigureAwait(false);
            await response.Body.FlushAsync().ConfigureAwait(false);
        }

        private JsonObject Chunk(JsonObject? delta, string? finishReason, JsonObject? usage)
        {
            var chunk = new JsonObject
            {
                ["id"] = id, ["object"] = "chat.completion.chunk", ["created"] = created, ["model"] = model,
                ["choices"] = delta is null ? new JsonArray() : new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finishReason }),
            };
            if (usage is not null) chunk["usage"] = usage;
            return chunk;
        }
    }
}
