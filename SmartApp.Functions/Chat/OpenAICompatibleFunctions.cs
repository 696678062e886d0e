using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
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
        var body = await req.ReadJsonAsync<JsonObject>().ConfigureAwait(false);
        var messages = (body["messages"] as JsonArray ?? throw new ValidationFailedException("messages", "'messages' is required.")).Select(ReadMessage).ToList();
        var model = body["model"]?.GetValue<string>() ?? vultr.Value.Model;
        var stream = body["stream"]?.GetValue<bool>() == true;
        var includeUsage = body["stream_options"]?["include_usage"]?.GetValue<bool>() == true;
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

    /// <summary>A message as OpenAI clients send it: <c>content</c> a string or a list of parts (text parts are kept).</summary>
    private static (MessageRole? Role, string Content) ReadMessage(JsonNode? node)
    {
        var role = node?["role"]?.GetValue<string>();
        var content = node?["content"] switch
        {
            JsonValue value when value.TryGetValue<string>(out var text) => text,
            JsonArray parts => string.Concat(parts.Where(p => p?["type"]?.GetValue<string>() == "text").Select(p => p!["text"]?.GetValue<string>())),
            _ => "",
        };
        return role switch
        {
            "user" => (MessageRole.User, content),
            "assistant" => (MessageRole.Assistant, content),
            "system" or "developer" => (null, content),
            _ => throw new ValidationFailedException("messages", $"Unsupported message role '{role}'; use system, developer, user or assistant."),
        };
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
