using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using SmartApp.Domain.Data;
using SmartApp.Domain.Identity;
using SmartApp.Functions.Http;

namespace SmartApp.Functions.Data;

/// <summary>The user's tables of JSON records (the OpenAPI document's "Data" tag): CRUD with etags, structured queries, questions in plain language.</summary>
public sealed class DataFunctions(DataService data)
{
    [Function("DataTables")]
    public async Task<IActionResult> Tables([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "data/tables")] HttpRequest req) =>
        new OkObjectResult(new TableList(await data.TablesAsync(req.CurrentUser(), req.Query[SpaceAccess.Parameter], req.HttpContext.RequestAborted).ConfigureAwait(false)));

    [Function("DataTableDrop")]
    public async Task<IActionResult> Drop([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "data/tables/{table}")] HttpRequest req, string table)
    {
        await data.DropTableAsync(req.CurrentUser(), req.Query[SpaceAccess.Parameter], table, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new NoContentResult();
    }

    [Function("DataRecordCreate")]
    public async Task<IActionResult> Create([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "data/tables/{table}/records")] HttpRequest req, string table)
    {
        var body = await req.ReadJsonAsync<JsonObject>().ConfigureAwait(false);
        var record = await data.CreateAsync(req.CurrentUser(), req.Query[SpaceAccess.Parameter], table, body, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return WithETag(req, new CreatedResult($"/api/data/tables/{record.Table}/records/{record.Id}", RecordResponse.From(record, null)), record);
    }

    [Function("DataRecordGet")]
    public async Task<IActionResult> Get([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "data/tables/{table}/records/{id}")] HttpRequest req, string table, string id)
    {
        var record = await data.GetAsync(req.CurrentUser(), req.Query[SpaceAccess.Parameter], table, id, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return WithETag(req, new OkObjectResult(RecordResponse.From(record, null)), record);
    }

    [Function("DataRecordReplace")]
    public async Task<IActionResult> Replace([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "data/tables/{table}/records/{id}")] HttpRequest req, string table, string id)
    {
        var body = await req.ReadJsonAsync<JsonObject>().ConfigureAwait(false);
        var record = await data.ReplaceAsync(req.CurrentUser(), req.Query[SpaceAccess.Parameter], table, id, body, IfMatch(req), req.HttpContext.RequestAborted).ConfigureAwait(false);
        return WithETag(req, new OkObjectResult(RecordResponse.From(record, null)), record);
    }

    /// <summary>JSON Merge Patch (<c>application/merge-patch+json</c> or JSON).</summary>
    [Function("DataRecordPatch")]
    public async Task<IActionResult> Patch([HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = "data/tables/{table}/records/{id}")] HttpRequest req, string table, string id)
    {
        var body = await req.ReadJsonAsync<JsonObject>().ConfigureAwait(false);
        var record = await data.PatchAsync(req.CurrentUser(), req.Query[SpaceAccess.Parameter], table, id, body, IfMatch(req), req.HttpContext.RequestAborted).ConfigureAwait(false);
        return WithETag(req, new OkObjectResult(RecordResponse.From(record, null)), record);
    }

    [Function("DataRecordDelete")]
    public async Task<IActionResult> Delete([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "data/tables/{table}/records/{id}")] HttpRequest req, string table, string id)
    {
        await data.DeleteAsync(req.CurrentUser(), req.Query[SpaceAccess.Parameter], table, id, IfMatch(req), req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new NoContentResult();
    }

    [Function("DataQuery")]
    public async Task<IActionResult> Query([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "data/tables/{table}/query")] HttpRequest req, string table)
    {
        var body = await req.ReadJsonAsync(whenEmpty: new QueryRequest(null, null, null, null, null)).ConfigureAwait(false);
        var query = body.ToQuery();
        var page = await data.QueryAsync(req.CurrentUser(), req.Query[SpaceAccess.Parameter], table, query, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new RecordList(page.Items.Select(r => RecordResponse.From(r, query.Select)).ToList(), page.NextCursor));
    }

    /// <summary>
    /// <c>{ question, table? }</c> → the structured query the model wrote, its rows, and its reasoning;
    /// answered by SmartSQL (<c>provider: raindrop</c>, with the <c>sql</c> it ran and its raw <c>rows</c>) when data is on Raindrop.
    /// </summary>
    [Function("DataAsk")]
    public async Task<IActionResult> Ask([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "data/ask")] HttpRequest req)
    {
        var body = await req.ReadJsonAsync<AskRequest>().ConfigureAwait(false);
        var answer = await data.AskAsync(req.CurrentUser(), req.Query[SpaceAccess.Parameter], body.Question, body.Table, req.HttpContext.RequestAborted).ConfigureAwait(false);
        return new OkObjectResult(new AskResponse(answer.Table,
            new AskedQuery(answer.Query.Where, answer.Query.OrderBy, answer.Query.Select, answer.Query.Limit),
            answer.Items.Select(r => RecordResponse.From(r, answer.Query.Select)).ToList(), answer.Reasoning, answer.Provider, answer.Sql, answer.Rows));
    }

    /// <summary>The etag the client holds; <c>*</c> (any version) is the same as none.</summary>
    private static string? IfMatch(HttpRequest req) => req.Headers.IfMatch.ToString() is { Length: > 0 } value and not "*" ? value : null;

    private static IActionResult WithETag(HttpRequest req, IActionResult result, DataRecord record)
    {
        req.HttpContext.Response.Headers.ETag = record.ETag;
        return result;
    }

    public sealed record AskRequest(string? Question, string? Table);

    public sealed record WhereRequest(string? Field, string? Op, JsonElement Value);

    public sealed record OrderRequest(string? Field, bool Desc);

    public sealed record QueryRequest(IReadOnlyList<WhereRequest>? Where, IReadOnlyList<OrderRequest>? OrderBy, IReadOnlyList<string>? Select, int? Limit, string? Cursor)
    {
        public TableQuery ToQuery() => new(
            (Where ?? []).Select((w, i) => new Filter(w.Field ?? "", QueryGrammar.Op(w.Op, $"where[{i}].op"), w.Value)).ToList(),
            (OrderBy ?? []).Select(o => new Ordering(o.Field ?? "", o.Desc)).ToList(),
            Select, Limit ?? QueryGrammar.DefaultLimit, string.IsNullOrEmpty(Cursor) ? null : Cursor);
    }

    public sealed record RecordResponse(string Id, [property: System.Text.Json.Serialization.JsonPropertyName("etag")] string ETag, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, JsonObject Data)
    {
        /// <summary>The record, with only the selected field paths of its data when <paramref name="select"/> is given.</summary>
        public static RecordResponse From(DataRecord r, IReadOnlyList<string>? select)
        {
            if (select is null || select.Count == 0) return new(r.Id, r.ETag, r.CreatedAt, r.UpdatedAt, r.Data);
            var projected = new JsonObject();
            foreach (var path in select)
            {
                var segments = path.Split('.');
                JsonNode? source = r.Data;
                foreach (var segment in segments) source = source is JsonObject obj ? obj[segment] : null;
                if (source is null) continue;
                var target = projected;
                foreach (var segment in segments[..^1]) target = (JsonObject)(target[segment] ??= new JsonObject());
                target[segments[^1]] = source.DeepClone();
            }
            return new(r.Id, r.ETag, r.CreatedAt, r.UpdatedAt, projected);
        }
    }

    public sealed record TableList(IReadOnlyList<TableInfo> Tables);

    public sealed record RecordList(IReadOnlyList<RecordResponse> Items, string? NextCursor);

    /// <summary>A question's answer: the query as it ran (filters' <c>op</c> by the API's enum names), its records, and who answered.</summary>
    public sealed record AskResponse(string Table, AskedQuery Query, IReadOnlyList<RecordResponse> Items, string? Reasoning, string Provider, string? Sql,
        IReadOnlyList<JsonElement>? Rows);

    public sealed record AskedQuery(IReadOnlyList<Filter> Where, IReadOnlyList<Ordering> OrderBy, IReadOnlyList<string>? Select, int Limit);
}
