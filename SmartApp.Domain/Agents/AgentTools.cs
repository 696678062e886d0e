using System.Collections.Concurrent;
using System.ComponentModel;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Chat;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Common.Quotas;
using SmartApp.Domain.Common.Telemetry;
using SmartApp.Domain.Data;
using SmartApp.Domain.Files;
using SmartApp.Domain.Identity;
using SmartApp.Domain.Memory;

namespace SmartApp.Domain.Agents;

/// <summary>The tools a model may call on behalf of one user (<see cref="AgentTools"/>).</summary>
public interface IAgentToolbox
{
    /// <summary>The tools, bound to <paramref name="user"/>; what they find from memory and files is added to <paramref name="findings"/>.</summary>
    IReadOnlyList<AIFunction> For(CurrentUser user, ToolFindings findings);
}

/// <summary>What the tool calls of one turn or one MCP request found in the user's memory and files: the reply's citations.</summary>
public sealed class ToolFindings
{
    private readonly ConcurrentQueue<Citation> _citations = new();

    public IReadOnlyList<Citation> Citations => [.. _citations];

    internal void Add(Citation citation) => _citations.Enqueue(citation);
}

/// <summary>
/// The signed-in user's memory, files and data as tools a model can call (<see cref="AIFunction"/>s with JSON schemas):
/// the same services and checks as the HTTP routes, acting as that user and nobody else. A tool never throws at the model:
/// a refusal (not found, invalid, over quota) is its result, <c>{ "error": … }</c>, so the model can say so or try again.
/// Every call counts toward the plan's tool calls of the day. Results are bounded in bytes (<see cref="AgentOptions.MaxToolResultBytes"/>).
/// </summary>
public sealed partial class AgentTools(MemoryService memory, FileService files, DataService data, IQuotaGate quotas, IOptions<AgentOptions> options,
    IOptions<MemoryOptions> memoryOptions, ILogger<AgentTools> logger) : IAgentToolbox
{
    public const string SearchMemory = "search_memory", Remember = "remember", Forget = "forget", SearchFiles = "search_files", AskFile = "ask_file",
        ListTables = "list_tables", QueryData = "query_data", GetRecord = "get_record";

    /// <summary>How the data tools name a table's space.</summary>
    private const string SpaceArgument = "Whose table: 'personal' (the user's own, the default) or 'org' (their organization's), as list_tables says.";

    /// <summary>Results a search tool gives when the model asks for no number, and the most it may ask for.</summary>
    internal const int DefaultResults = 5, MaxResults = 10;

    /// <summary>Characters of one passage or memory given back (the start says what it is; the whole is one read away).</summary>
    internal const int MaxItemCharacters = 2000;

    /// <summary>The tools, bound to <paramref name="user"/>; what they find from memory and files is added to <paramref name="findings"/>.</summary>
    public IReadOnlyList<AIFunction> For(CurrentUser user, ToolFindings findings) =>
        [.. Tools.Select(tool => new BoundedTool(tool, user, findings, quotas, options.Value, logger))];

    private IReadOnlyList<AIFunction>? _built;

    private IReadOnlyList<AIFunction> Tools => _built ??= Build();

    /// <summary>
    /// The tools, made once (their JSON schemas come from reflection): each call learns its user and findings from its
    /// <see cref="AIFunctionArguments.Context"/>, which <see cref="BoundedTool"/> sets.
    /// </summary>
    private IReadOnlyList<AIFunction> Build() =>
    [
        Create(SearchMemory,
            "Searches the user's long-term memory (conversations, notes, documents and procedures they asked to keep) by meaning and keywords. " +
            "Returns the best memories with their id, kind and text.",
            async (AIFunctionArguments call, [Description("What to look for: words or a question.")] string query,
                [Description("How many results (1-10, default 5).")] int? limit = null, CancellationToken ct = default) =>
            {
                var user = UserOf(call);
                var hits = await memory.SearchAsync(user, query, null, null, null, Limit(limit), default, ct).ConfigureAwait(false);
                foreach (var hit in hits)
                    FindingsOf(call).Add(Citation.Of(hit));
                return Listed("memories", hits.Select(h => new JsonObject
                {
                    ["id"] = h.Memory.Id, ["kind"] = EnumNames.Of(h.Memory.Kind), ["score"] = Math.Round(h.Score, 3), ["key"] = h.Memory.Key,
                    ["text"] = Clip(h.Memory.Content), ["at"] = h.Memory.At,
                }));
            }),
        Create(Remember,
            "Keeps something in the user's long-term memory because they asked you to remember it. Without a key it is kept as a note; " +
            "with a key it is kept as a procedure (an instruction or preference under that name), replacing the procedure's earlier value.",
            async (AIFunctionArguments call, [Description("What to remember, in a sentence the user would recognise.")] string content,
                [Description("Optional: a short name, to keep it as a procedure (e.g. 'reply-style').")] string? key = null, CancellationToken ct = default) =>
            {
                var user = UserOf(call);
                if (string.IsNullOrWhiteSpace(content)) throw new ValidationFailedException("content", "'content' is required.");
                // What a user asks to have remembered is a sentence or a few: bounded like a memory's content, not like a document.
                if (Encoding.UTF8.GetByteCount(content) > memoryOptions.Value.MaxContentBytes)
                    throw new ValidationFailedException("content", $"'content' may be at most {memoryOptions.Value.MaxContentBytes} bytes (UTF-8).");
                if (key is not null)
                {
                    var procedure = await memory.PutProcedureAsync(user, key, content.Trim(), ct).ConfigureAwait(false);
                    return new JsonObject { ["remembered"] = "procedure", ["id"] = procedure.Id, ["key"] = procedure.Key };
                }
                var documentId = await memory.PutDocumentAsync(user, JsonSerializer.SerializeToElement(new { text = content.Trim() }), ct).ConfigureAwait(false);
                return new JsonObject { ["remembered"] = "note", ["id"] = documentId };
            }),
        Create(Forget,
            "Removes something from the user's long-term memory because they asked you to forget it: a note or a fact about the user by the id " +
            "search_memory gave, or a procedure by its key. A forgotten fact is not learned again from later conversations.",
            async (AIFunctionArguments call, [Description("The id of a note or a fact (from search_memory or remember).")] string? id = null,
                [Description("The key of a procedure.")] string? key = null, CancellationToken ct = default) =>
            {
                var user = UserOf(call);
                if (key is not null) await memory.DeleteProcedureAsync(user, key, ct).ConfigureAwait(false);
                else if (id is not null && id.StartsWith(MemoryIds.Semantic + "_", StringComparison.Ordinal)) await memory.DeleteDocumentAsync(user, id, ct).ConfigureAwait(false);
                else if (id is not null && id.StartsWith(MemoryIds.Fact + "_", StringComparison.Ordinal)) await memory.DeleteAnyAsync(user, id, ct).ConfigureAwait(false);
                else throw new ValidationFailedException("id", "Give the id of a note ('doc_…') or a fact ('fct_…'), or the key of a procedure; other memories are not removed by a tool.");
                return new JsonObject { ["forgotten"] = key ?? id };
            }),
        Create(SearchFiles,
            "Searches the passages of the user's uploaded files by meaning and keywords. Returns the best passages with their file, page and text.",
            async (AIFunctionArguments call, [Description("What to look for: words or a question.")] string query,
                [Description("Optional: only these files (ids).")] string[]? fileIds = null,
                [Description("How many results (1-10, default 5).")] int? limit = null, CancellationToken ct = default) =>
            {
                var user = UserOf(call);
                var hits = await files.SearchAsync(user, query, fileIds, Limit(limit), ct).ConfigureAwait(false);
                foreach (var hit in hits) FindingsOf(call).Add(Citation.Of(hit));
                return Listed("passages", hits.Select(h => new JsonObject
                {
                    ["fileId"] = h.Chunk.FileId, ["fileName"] = h.FileName, ["chunkId"] = h.Chunk.Id, ["page"] = h.Chunk.Page,
                    ["score"] = Math.Round(h.Score, 3), ["text"] = Clip(h.Chunk.Text),
                }));
            }),
        Create(AskFile,
            "Answers a question from one of the user's files (by its id), citing its passages.",
            async (AIFunctionArguments call, [Description("The file's id.")] string fileId, [Description("The question.")] string question, CancellationToken ct) =>
            {
                var user = UserOf(call);
                var answer = await files.AskAsync(user, fileId, question, ct).ConfigureAwait(false);
                foreach (var hit in answer.Citations) FindingsOf(call).Add(Citation.Of(hit));
                var result = Listed("passages", answer.Citations.Select(h => new JsonObject { ["page"] = h.Chunk.Page, ["text"] = Clip(h.Chunk.Text) }));
                result["answer"] = answer.Answer;
                result["retrievalOnly"] = answer.RetrievalOnly;
                return result;
            }),
        Create(ListTables,
            "Lists the user's data tables, and their organization's, with their space ('personal' or 'org'), row counts and columns (name and type).",
            async (AIFunctionArguments call, CancellationToken ct) =>
            {
                var user = UserOf(call);
                var tables = await data.TablesAsync(user, null, ct).ConfigureAwait(false);
                return Listed("tables", tables.Select(t => JsonSerializer.SerializeToNode(t, JsonDefaults.Options)!.AsObject()));
            }),
        Create(QueryData,
            "Queries one of the user's data tables: conditions on fields, one ordering, the fields to return, a limit. " +
            "Call list_tables first to learn the tables, their spaces and columns.",
            async (AIFunctionArguments call, [Description("The table's name.")] string table,
                [Description("Conditions, all of which must hold: [{\"field\": \"a.b\", \"op\": \"eq|ne|gt|gte|lt|lte|in|contains|startsWith|exists\", \"value\": any}].")] JsonElement? where = null,
                [Description("At most one ordering: [{\"field\": \"a.b\", \"desc\": true}].")] JsonElement? orderBy = null,
                [Description("Optional: the field paths to return.")] string[]? select = null,
                [Description("How many records (1-500, default 50).")] int? limit = null,
                [Description(SpaceArgument)] string? space = null, CancellationToken ct = default) =>
            {
                var user = UserOf(call);
                var tables = (await data.TableNamesAsync(user, space, ct).ConfigureAwait(false)).ToHashSet(StringComparer.Ordinal);
                if (!tables.Contains(table)) throw new NotFoundException("No such table.");
                var asked = new JsonObject
                {
                    ["table"] = table, ["where"] = Node(where), ["orderBy"] = Node(orderBy),
                    ["select"] = select is null ? null : new JsonArray([.. select.Select(s => (JsonNode?)s)]), ["limit"] = limit,
                };
                var (_, query, _) = DataService.ParseQuery(asked.ToJsonString(), tables);
                var page = await data.QueryAsync(user, space, table, query, ct).ConfigureAwait(false);
                return Listed("records", page.Items.Select(r => new JsonObject { ["id"] = r.Id, ["data"] = r.Data.DeepClone() }));
            }),
        Create(GetRecord,
            "Reads one record of one of the user's data tables by its id.",
            async (AIFunctionArguments call, [Description("The table's name.")] string table, [Description("The record's id.")] string id,
                [Description(SpaceArgument)] string? space = null, CancellationToken ct = default) =>
            {
                var user = UserOf(call);
                var record = await data.GetAsync(user, space, table, id, ct).ConfigureAwait(false);
                return new JsonObject { ["id"] = record.Id, ["table"] = record.Table, ["data"] = record.Data.DeepClone(), ["updatedAt"] = record.UpdatedAt };
            }),
    ];

    /// <summary>
    /// A tool: the plan's count of tool calls first, then the work within its time budget; a refusal becomes the result the model sees,
    /// and the result is cut to its byte bound.
    /// </summary>
    private static AIFunction Create(string name, string description, Delegate work) =>
        AIFunctionFactory.Create(work, new AIFunctionFactoryOptions { Name = name, Description = description, SerializerOptions = JsonDefaults.Options });

    private static CurrentUser UserOf(AIFunctionArguments call) => (CurrentUser)call.Context![typeof(CurrentUser)]!;

    private static ToolFindings FindingsOf(AIFunctionArguments call) => (ToolFindings)call.Context![typeof(ToolFindings)]!;

    private sealed class BoundedTool(AIFunction inner, CurrentUser user, ToolFindings findings, IQuotaGate quotas, AgentOptions options, ILogger logger) : DelegatingAIFunction(inner)
    {
        protected override async ValueTask<object?> InvokeCoreAsync(AIFunctionArguments arguments, CancellationToken cancellationToken)
        {
            arguments.Context ??= new Dictionary<object, object?>();
            arguments.Context[typeof(CurrentUser)] = user;
            arguments.Context[typeof(ToolFindings)] = findings;
            var result = await RunAsync(arguments, cancellationToken).ConfigureAwait(false);
            SmartAppTelemetry.ToolCalls.Add(1, new("tool", Name), new("outcome", IsRefusal(result) ? "refused" : "ok"));
            return result;
        }

        private async Task<JsonObject> RunAsync(AIFunctionArguments arguments, CancellationToken cancellationToken)
        {
            using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            budget.CancelAfter(options.ToolTimeout);
            try
            {
                // The call is counted first for a tool that changes memory; a read runs beside its count (a write to the usage
                // item), and a read over the plan's allowance is refused when the count comes back, having changed nothing.
                var counting = quotas.CountToolCallAsync(user, budget.Token);
                if (Name is Remember or Forget) await counting.ConfigureAwait(false);
                var working = base.InvokeCoreAsync(arguments, budget.Token).AsTask();
                await Task.WhenAll(counting, working).ConfigureAwait(false);
                var result = working.Result;
                // The factory hands back the work's result as JSON (a JsonElement): bounded as an object.
                var json = result as JsonObject ?? JsonSerializer.SerializeToNode(result, JsonDefaults.Options) as JsonObject ?? new JsonObject { ["result"] = JsonSerializer.SerializeToNode(result, JsonDefaults.Options) };
                return Bound(json, options.MaxToolResultBytes);
            }
            catch (DomainException ex)
            {
                return Refused(ex.Message);
            }
            catch (Exception ex) when (ex is ArgumentException or JsonException or InvalidOperationException)
            {
                // The model's arguments did not bind to the tool's parameters (missing, or of the wrong type).
                return Refused($"The arguments do not fit the tool's parameters: {ex.Message}");
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                LogToolTimedOut(logger, Name);
                return Refused("The tool took too long; try again, or answer with what you have.");
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Storage or a provider failing: the caller (a model, an MCP client) is told so, in words it can pass on.
                LogToolFailed(logger, ex, Name);
                return Refused("The tool could not reach the user's data just now; try again shortly.");
            }
        }
    }

    internal static JsonObject Refused(string message) => new() { ["error"] = message };

    /// <summary>Whether a tool's result is a refusal (<c>{ "error": … }</c>).</summary>
    public static bool IsRefusal(object? result) => result is JsonObject o && o.ContainsKey("error");

    /// <summary>A result within the byte bound: the last items of its list go first, then the text of what is left is cut.</summary>
    internal static JsonObject Bound(JsonObject result, int max)
    {
        var list = result.Select(p => p.Value).OfType<JsonArray>().FirstOrDefault();
        while (Encoding.UTF8.GetByteCount(result.ToJsonString()) > max)
        {
            if (list is { Count: > 0 })
            {
                list.RemoveAt(list.Count - 1);
                result["truncated"] = true;
                continue;
            }
            var json = result.ToJsonString();
            return new JsonObject { ["truncated"] = true, ["text"] = json[..Math.Min(json.Length, max / 2)] };
        }
        return result;
    }

    private static JsonObject Listed(string name, IEnumerable<JsonObject> items) => new() { [name] = new JsonArray([.. items]) };

    private static int Limit(int? limit) => Math.Clamp(limit ?? DefaultResults, 1, MaxResults);

    private static string Clip(string text) => text.Length <= MaxItemCharacters ? text : text[..MaxItemCharacters] + "…";

    private static JsonNode? Node(JsonElement? element) =>
        element is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } e ? JsonNode.Parse(e.GetRawText()) : null;

    [LoggerMessage(EventId = 6041, Level = LogLevel.Warning, Message = "The tool {Tool} failed")]
    private static partial void LogToolFailed(ILogger logger, Exception exception, string tool);

    [LoggerMessage(EventId = 6040, Level = LogLevel.Warning, Message = "The tool {Tool} did not finish within its time budget")]
    private static partial void LogToolTimedOut(ILogger logger, string tool);
}
