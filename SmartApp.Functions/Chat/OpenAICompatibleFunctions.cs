using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.AI;
using SmartApp.Domain.Chat;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Model;
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
            var message = new JsonObject { ["role"] = "assistant", ["content"] = result.Text.Length == 0 && result.ToolCalls.Count > 0 ? null : result.Text };
            if (result.ToolCalls.Count > 0) message["tool_calls"] = ToolCalls(result.ToolCalls, streamed: false);
            var completion = new JsonObject
            {
                ["id"] = id, ["object"] = "chat.completion", ["created"] = created, ["model"] = result.Model,
                ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["finish_reason"] = FinishReason(result) }),
                ["usage"] = Usage(result.Usage),
                ["citations"] = JsonSerializer.SerializeToNode(result.Citations, JsonDefaults.Options),
                ["degraded"] = result.Degraded,
            };
            if (result.ToolActivity.Count > 0) completion["smartapp_tool_calls"] = JsonSerializer.SerializeToNode(result.ToolActivity, JsonDefaults.Options);
            await JsonSerializer.SerializeAsync(response.Body, completion, cancellationToken: cancellationToken).ConfigureAwait(false);
            return;
        }

        var sink = new ChunkSink(response, id, created, tuning.Model ?? await models.DefaultModelAsync(cancellationToken).ConfigureAwait(false));
        try
        {
            var result = await chat.CompleteAsync(req.CurrentUser(), messages, tuning, sink, cancellationToken).ConfigureAwait(false);
            if (result.ToolCalls.Count > 0)
                await sink.ChunkAsync(new JsonObject { ["tool_calls"] = ToolCalls(result.ToolCalls, streamed: true) }, null, null, CancellationToken.None).ConfigureAwait(false);
            // The last chunk says whether the reply is the model's or, with the model down, what memory and files say.
            var last = sink.Chunk(new JsonObject(), FinishReason(result), null);
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

    private const int MaxMessages = 500, MaxTools = 128;

    private static string FinishReason(ChatResult result) => result.ToolCalls.Count > 0 ? "tool_calls" : result.Incomplete ? "length" : "stop";

    /// <summary>The model's calls in OpenAI's shape; streamed, each carries its <c>index</c> (all in one delta, as the adapter hands them over whole).</summary>
    private static JsonArray ToolCalls(IReadOnlyList<FunctionCallContent> calls, bool streamed) => new(calls.Select((call, i) =>
    {
        var item = new JsonObject
        {
            ["id"] = call.CallId, ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = ChatPromptBuilder.ArgumentsJson(call) },
        };
        if (streamed) item.Insert(0, "index", i);
        return (JsonNode)item;
    }).ToArray());

    public sealed record CompletionRequest(
        string? Model, IReadOnlyList<CompletionMessage?>? Messages, bool? Stream, [property: JsonPropertyName("stream_options")] StreamOptionsRequest? StreamOptions,
        float? Temperature, [property: JsonPropertyName("top_p")] float? TopP, [property: JsonPropertyName("max_tokens")] int? MaxTokens,
        [property: JsonPropertyName("max_completion_tokens")] int? MaxCompletionTokens, JsonElement Stop, long? Seed, string? User,
        [property: JsonPropertyName("response_format")] JsonElement ResponseFormat, int? N,
        [property: JsonPropertyName("presence_penalty")] float? PresencePenalty, [property: JsonPropertyName("frequency_penalty")] float? FrequencyPenalty,
        IReadOnlyList<ToolRequest?>? Tools, [property: JsonPropertyName("tool_choice")] JsonElement ToolChoice, JsonElement Functions,
        [property: JsonPropertyName("function_call")] JsonElement FunctionCall, bool? Logprobs, [property: JsonPropertyName("logit_bias")] JsonElement LogitBias,
        [property: JsonPropertyName("smartapp_tools")] bool? SmartAppTools);

    public sealed record CompletionMessage(string? Role, JsonElement Content, [property: JsonPropertyName("tool_calls")] IReadOnlyList<ToolCallRequest?>? ToolCalls,
        [property: JsonPropertyName("tool_call_id")] string? ToolCallId);

    public sealed record ToolCallRequest(string? Id, string? Type, FunctionRequest? Function);

    public sealed record FunctionRequest(string? Name, string? Arguments, string? Description, JsonElement Parameters, bool? Strict);

    public sealed record ToolRequest(string? Type, FunctionRequest? Function);

    public sealed record StreamOptionsRequest([property: JsonPropertyName("include_usage")] bool? IncludeUsage);

    /// <summary>The request's model parameters: each one honoured, or refused with a 400 naming it — none dropped.</summary>
    private static ModelTuning ReadTuning(CompletionRequest body)
    {
        if (body.N is { } n && n != 1) throw new ValidationFailedException("n", "Only one choice per request: 'n' must be 1.");
        if (Present(body.Functions) || Present(body.FunctionCall))
            throw new ValidationFailedException(Present(body.Functions) ? "functions" : "function_call", "'functions' and 'function_call' are retired in OpenAI's API: send 'tools' and 'tool_choice'.");
        var tools = ReadTools(body.Tools);
        if (body.SmartAppTools == true && tools is not null)
            throw new ValidationFailedException("smartapp_tools", "SmartApp's tools run on the server and cannot be combined with the client's 'tools' in one request.");
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
            Tools = tools,
            ToolMode = ReadToolChoice(body.ToolChoice, tools),
            SmartAppTools = body.SmartAppTools == true,
        };
    }

    private static readonly System.Text.RegularExpressions.Regex FunctionName = new("^[a-zA-Z0-9_-]{1,64}$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary><c>tools</c>: up to 128 functions, each with a name OpenAI accepts, an optional description and a JSON-schema object for its parameters.</summary>
    private static List<AITool>? ReadTools(IReadOnlyList<ToolRequest?>? tools)
    {
        if (tools is null || tools.Count == 0) return null;
        if (tools.Count > MaxTools) throw new ValidationFailedException("tools", $"At most {MaxTools} tools.");
        var declared = new List<AITool>();
        for (var i = 0; i < tools.Count; i++)
        {
            var field = $"tools[{i}]";
            if (tools[i] is not { Type: "function", Function: { } function })
                throw new ValidationFailedException(field, "A tool must be {\"type\": \"function\", \"function\": {...}}.");
            if (function.Name is null || !FunctionName.IsMatch(function.Name))
                throw new ValidationFailedException($"{field}.function.name", "A function's 'name' is 1 to 64 letters, digits, underscores or dashes.");
            if (declared.Any(t => t.Name == function.Name))
                throw new ValidationFailedException($"{field}.function.name", $"The function '{function.Name}' is declared twice.");
            if (function.Description is { Length: > 1024 })
                throw new ValidationFailedException($"{field}.function.description", "A function's 'description' may be at most 1024 characters.");
            if (function.Parameters.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null or JsonValueKind.Object))
                throw new ValidationFailedException($"{field}.function.parameters", "A function's 'parameters' must be a JSON Schema object.");
            var schema = function.Parameters.ValueKind == JsonValueKind.Object ? function.Parameters.Clone() : EmptySchema;
            declared.Add(new ClientFunction(function.Name, function.Description, schema, function.Strict == true));
        }
        return declared;
    }

    private static readonly JsonElement EmptySchema = JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement.Clone();

    /// <summary><c>tool_choice</c>: <c>none</c>, <c>auto</c>, <c>required</c>, or one declared function by name.</summary>
    private static ChatToolMode? ReadToolChoice(JsonElement choice, List<AITool>? tools)
    {
        if (choice.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null) return null;
        if (choice.ValueKind == JsonValueKind.String && choice.GetString() == "none") return ChatToolMode.None;
        if (tools is null) throw new ValidationFailedException("tool_choice", "'tool_choice' needs 'tools' to choose from.");
        if (choice.ValueKind == JsonValueKind.String)
            return choice.GetString() switch
            {
                "auto" => ChatToolMode.Auto,
                "required" => ChatToolMode.RequireAny,
                _ => throw new ValidationFailedException("tool_choice", "'tool_choice' must be none, auto, required, or {\"type\": \"function\", \"function\": {\"name\": ...}}."),
            };
        var name = choice.ValueKind == JsonValueKind.Object && choice.TryGetProperty("type", out var type) && type.ValueEquals("function")
            && choice.TryGetProperty("function", out var function) && function.ValueKind == JsonValueKind.Object
            && function.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
        if (name is null) throw new ValidationFailedException("tool_choice", "'tool_choice' must be none, auto, required, or {\"type\": \"function\", \"function\": {\"name\": ...}}.");
        if (tools.All(t => t.Name != name)) throw new ValidationFailedException("tool_choice", $"'tool_choice' names '{name}', which is not among 'tools'.");
        return ChatToolMode.RequireSpecific(name);
    }

    /// <summary>A function the caller declares and runs itself; <c>strict</c> is passed on as the OpenAI adapter reads it.</summary>
    private sealed class ClientFunction(string name, string? description, JsonElement schema, bool strict) : AIFunctionDeclaration
    {
        private readonly IReadOnlyDictionary<string, object?> _properties = strict ? new Dictionary<string, object?> { ["Strict"] = true } : new Dictionary<string, object?>();

        public override string Name => name;
        public override string Description => description ?? "";
        public override JsonElement JsonSchema => schema;
        public override IReadOnlyDictionary<string, object?> AdditionalProperties => _properties;
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

    /// <summary>
    /// A message as OpenAI clients send it: <c>content</c> a string or a list of parts (text parts are kept); an assistant
    /// message may carry the model's <c>tool_calls</c>, and a <c>tool</c> message answers one by its <c>tool_call_id</c>.
    /// </summary>
    private static ChatMessage ReadMessage(CompletionMessage? message, int index)
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
        if (message.ToolCalls is { Count: > 0 } && message.Role != "assistant")
            throw new ValidationFailedException($"{field}.tool_calls", "Only assistant messages carry 'tool_calls'.");
        switch (message.Role)
        {
            case "user": return new ChatMessage(ChatRole.User, content);
            case "system" or "developer": return new ChatMessage(ChatRole.System, content);
            case "assistant":
                var parts = new List<AIContent>();
                if (content.Length > 0) parts.Add(new TextContent(content));
                for (var i = 0; i < (message.ToolCalls?.Count ?? 0); i++)
                    parts.Add(ReadToolCall(message.ToolCalls![i], $"{field}.tool_calls[{i}]"));
                return new ChatMessage(ChatRole.Assistant, parts);
            case "tool":
                if (string.IsNullOrEmpty(message.ToolCallId) || message.ToolCallId.Length > 256)
                    throw new ValidationFailedException($"{field}.tool_call_id", "A tool message needs the 'tool_call_id' of the call it answers.");
                return new ChatMessage(ChatRole.Tool, [new FunctionResultContent(message.ToolCallId, content)]);
            default:
                throw new ValidationFailedException($"{field}.role", $"Unsupported message role '{message.Role}'; use system, developer, user, assistant or tool.");
        }
    }

    private static FunctionCallContent ReadToolCall(ToolCallRequest? call, string field)
    {
        if (call is not { Type: "function", Id: { Length: > 0 and <= 256 } id, Function: { Name: { } name } function } || !FunctionName.IsMatch(name))
            throw new ValidationFailedException(field, "A tool call needs an 'id', type 'function', and a 'function' with a valid 'name' and its 'arguments'.");
        Dictionary<string, object?>? arguments;
        try
        {
            arguments = string.IsNullOrWhiteSpace(function.Arguments) ? [] : JsonSerializer.Deserialize<Dictionary<string, object?>>(function.Arguments);
        }
        catch (JsonException)
        {
            arguments = null;
        }
        return arguments is not null
            ? new FunctionCallContent(id, name, arguments)
            : throw new ValidationFailedException($"{field}.function.arguments", "'arguments' must be a JSON object, as text.");
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
