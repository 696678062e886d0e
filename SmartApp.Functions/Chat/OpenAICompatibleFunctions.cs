using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.AI;
using SmartApp.Domain.Chat;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Errors;
using SmartApp.Functions.Http;

namespace SmartApp.Functions.Chat;

/// <summary>
/// <c>POST /api/v1/chat/completions</c> and <c>GET /api/v1/models</c> in OpenAI's wire format, streaming and not, so an
/// OpenAI client works against SmartApp by changing its base URL (to <c>…/api/v1</c>) and key (a SmartApp token).
/// Each request runs the grounded pipeline for the signed-in user; citations and the degraded flag ride in extra
/// fields that standard clients ignore. Every parameter SmartApp reads is honoured or refused with a 400 naming it;
/// errors use OpenAI's error body (<see cref="OpenAIErrors"/>).
/// </summary>
public sealed class OpenAICompatibleFunctions(ChatService chat, IModelCatalog models)
{
    [Function("OpenAIModels")]
    public async Task<IActionResult> Models([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/models")] HttpRequest req)
    {
        var served = await models.ServedAsync(req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(served.Select(id => (JsonNode)new JsonObject { ["id"] = id, ["object"] = "model", ["created"] = 0, ["owned_by"] = "vultr" }).ToArray()),
        });
    }

    [Function("OpenAIChatCompletions")]
    public async Task Complete([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/chat/completions")] HttpRequest req)
    {
        // Typed: a field of the wrong type ("model": 1) is a 400 naming it; fields SmartApp does not use are ignored, as OpenAI clients send many.
        var body = await req.ReadJsonAsync<CompletionRequest>().ConfigureAwait(false);
        if (body.Messages is not { Count: > 0 }) throw new ValidationFailedException("messages", "'messages' is required: at least the user's message.");
        if (body.Messages.Count > MaxMessages) throw new ValidationFailedException("messages", $"At most {MaxMessages} messages.");
        var messages = body.Messages.Select((m, i) => ReadMessage(m, i)).ToList();
        var tuning = ReadTuning(body);
        var stream = body.Stream == true;
        var includeUsage = body.StreamOptions?.IncludeUsage == true;
        var id = $"chatcmpl-{Guid.NewGuid():N}";
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var response = req.HttpContext.Response;
        var cancellationToken = req.HttpContext.RequestAborted;

        if (!stream)
        {
            var result = await chat.CompleteAsync(req.CurrentUser(), messages, tuning, NoReplySink.Instance, cancellationToken).ConfigureAwait(false);
            response.ContentType = "application/json";
            await JsonSerializer.SerializeAsync(response.Body, new JsonObject
            {
                ["id"] = id, ["object"] = "chat.completion", ["created"] = created, ["model"] = result.Model,
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

        var sink = new ChunkSink(response, id, created, tuning.Model ?? await models.DefaultModelAsync(cancellationToken).ConfigureAwait(false));
        try
        {
            var result = await chat.CompleteAsync(req.CurrentUser(), messages, tuning, sink, cancellationToken).ConfigureAwait(false);
            // The last chunk says whether the reply is the model's or, with the model down, what memory and files say.
            var last = sink.Chunk(new JsonObject(), result.Incomplete ? "length" : "stop", null);
            last["degraded"] = result.Degraded;
            await sink.WriteAsync(last, CancellationToken.None).ConfigureAwait(false);
            if (includeUsage) await sink.ChunkAsync(null, null, Usage(result.Usage), CancellationToken.None).ConfigureAwait(false);
            await sink.DoneAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (sink.Started && !cancellationToken.IsCancellationRequested)
        {
            await sink.WriteAsync(OpenAIErrors.Body(ProblemTypes.From(ex))).ConfigureAwait(false);
            await sink.DoneAsync().ConfigureAwait(false);
        }
    }

    private const int MaxMessages = 500;

    public sealed record CompletionRequest(
        string? Model, IReadOnlyList<CompletionMessage?>? Messages, bool? Stream, [property: JsonPropertyName("stream_options")] StreamOptionsRequest? StreamOptions,
        float? Temperature, [property: JsonPropertyName("top_p")] float? TopP, [property: JsonPropertyName("max_tokens")] int? MaxTokens,
        [property: JsonPropertyName("max_completion_tokens")] int? MaxCompletionTokens, JsonElement Stop, long? Seed, string? User,
        [property: JsonPropertyName("response_format")] JsonElement ResponseFormat, int? N,
        [property: JsonPropertyName("presence_penalty")] float? PresencePenalty, [property: JsonPropertyName("frequency_penalty")] float? FrequencyPenalty,
        JsonElement Tools, [property: JsonPropertyName("tool_choice")] JsonElement ToolChoice, JsonElement Functions,
        [property: JsonPropertyName("function_call")] JsonElement FunctionCall, bool? Logprobs, [property: JsonPropertyName("logit_bias")] JsonElement LogitBias);

    public sealed record CompletionMessage(string? Role, JsonElement Content);

    public sealed record StreamOptionsRequest([property: JsonPropertyName("include_usage")] bool? IncludeUsage);

    /// <summary>The request's model parameters: each one honoured, or refused with a 400 naming it — none dropped.</summary>
    private static ModelTuning ReadTuning(CompletionRequest body)
    {
        if (body.N is { } n && n != 1) throw new ValidationFailedException("n", "Only one choice per request: 'n' must be 1.");
        if (Present(body.Tools) || Present(body.ToolChoice) || Present(body.Functions) || Present(body.FunctionCall))
            throw new ValidationFailedException(Present(body.Tools) ? "tools" : Present(body.ToolChoice) ? "tool_choice" : Present(body.Functions) ? "functions" : "function_call",
                "Tool calling is not offered on this endpoint: send the request without 'tools', 'tool_choice', 'functions' or 'function_call'.");
        if (body.Logprobs == true) throw new ValidationFailedException("logprobs", "'logprobs' are not offered on this endpoint.");
        if (Present(body.LogitBias)) throw new ValidationFailedException("logit_bias", "'logit_bias' is not offered on this endpoint.");
        if (body.Temperature is < 0 or > 2) throw new ValidationFailedException("temperature", "'temperature' must be between 0 and 2.");
        if (body.TopP is < 0 or > 1) throw new ValidationFailedException("top_p", "'top_p' must be between 0 and 1.");
        if (body.PresencePenalty is < -2 or > 2) throw new ValidationFailedException("presence_penalty", "'presence_penalty' must be between -2 and 2.");
        if (body.FrequencyPenalty is < -2 or > 2) throw new ValidationFailedException("frequency_penalty", "'frequency_penalty' must be between -2 and 2.");
        if (body.User is { Length: > 256 }) throw new ValidationFailedException("user", "'user' may be at most 256 characters.");
        if (body.MaxTokens is not null && body.MaxCompletionTokens is not null && body.MaxTokens != body.MaxCompletionTokens)
            throw new ValidationFailedException("max_completion_tokens", "Send 'max_completion_tokens' or 'max_tokens', not two different values.");
        return new ModelTuning
        {
            Model = string.IsNullOrWhiteSpace(body.Model) ? null : body.Model,
            Temperature = body.Temperature,
            TopP = body.TopP,
            MaxTokens = body.MaxCompletionTokens ?? body.MaxTokens,
            Stop = ReadStop(body.Stop),
            Seed = body.Seed,
            ResponseFormat = ReadResponseFormat(body.ResponseFormat),
            PresencePenalty = body.PresencePenalty,
            FrequencyPenalty = body.FrequencyPenalty,
        };
    }

    private static bool Present(JsonElement element) => element.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null)
        && !(element.ValueKind == JsonValueKind.String && element.GetString() == "none")
        && !(element.ValueKind == JsonValueKind.Array && element.GetArrayLength() == 0);

    /// <summary><c>stop</c>: a string or up to four strings.</summary>
    private static List<string>? ReadStop(JsonElement stop) => stop.ValueKind switch
    {
        JsonValueKind.Undefined or JsonValueKind.Null => null,
        JsonValueKind.String => [stop.GetString()!],
        JsonValueKind.Array when stop.GetArrayLength() <= 4 && stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String && s.GetString()!.Length is > 0 and <= 256) =>
            stop.EnumerateArray().Select(s => s.GetString()!).ToList(),
        _ => throw new ValidationFailedException("stop", "'stop' must be a string or a list of at most 4 non-empty strings."),
    };

    /// <summary><c>response_format</c>: <c>text</c>, <c>json_object</c>, or <c>json_schema</c> with its <c>json_schema.schema</c>.</summary>
    private static ChatResponseFormat? ReadResponseFormat(JsonElement format)
    {
        if (format.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null) return null;
        var type = format.ValueKind == JsonValueKind.Object && format.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        switch (type)
        {
            case "text": return ChatResponseFormat.Text;
            case "json_object": return ChatResponseFormat.Json;
            case "json_schema":
                if (!format.TryGetProperty("json_schema", out var spec) || spec.ValueKind != JsonValueKind.Object
                    || !spec.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String
                    || !spec.TryGetProperty("schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
                    throw new ValidationFailedException("response_format", "A 'json_schema' response format needs 'json_schema' with a string 'name' and an object 'schema'.");
                var description = spec.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                return ChatResponseFormat.ForJsonSchema(schema.Clone(), name.GetString(), description);
            default:
                throw new ValidationFailedException("response_format", "'response_format.type' must be text, json_object or json_schema.");
        }
    }

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

        public JsonObject Chunk(JsonObject? delta, string? finishReason, JsonObject? usage)
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
