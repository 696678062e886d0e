using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;

namespace SmartApp.Tests.Contract;

/// <summary>
/// The OpenAPI document as a checker: a client's requests go through <see cref="Handler"/>, which
/// finds each request's operation, fails the test when the answer's status is not one the
/// operation documents or its JSON body does not match the documented schema, and records which
/// operations were exercised.
/// </summary>
public sealed class OpenApiContract
{
    private readonly List<Operation> _operations = [];
    private readonly Dictionary<string, JsonNode> _schemas;
    private readonly Lock _gate = new();
    private readonly HashSet<string> _covered = [];
    private readonly List<string> _violations = [];

    public OpenApiContract(JsonElement document)
    {
        Document = document;
        _schemas = document.GetProperty("components").GetProperty("schemas").EnumerateObject()
            .ToDictionary(s => s.Name, s => JsonNode.Parse(s.Value.GetRawText())!);
        foreach (var path in document.GetProperty("paths").EnumerateObject())
            foreach (var method in path.Value.EnumerateObject().Where(m => m.Name is "get" or "post" or "put" or "patch" or "delete"))
                _operations.Add(new Operation(method.Name.ToUpperInvariant(), path.Name, method.Value.GetProperty("operationId").GetString()!, method.Value, Matcher(path.Name)));
    }

    public JsonElement Document { get; }

    public IReadOnlyList<string> OperationIds => [.. _operations.Select(o => o.Id)];

    public IReadOnlyCollection<string> Covered { get { lock (_gate) return [.. _covered]; } }

    public IReadOnlyList<string> Violations { get { lock (_gate) return [.. _violations]; } }

    public IEnumerable<(string Method, string Path)> Routes => _operations.Select(o => (o.Method, o.Path));

    public IReadOnlyList<Operation> Operations => _operations;

    public DelegatingHandler Handler() => new Checker(this);

    /// <summary>The operation a request is for: the matching path with the fewest parameters (a literal segment wins over a parameter).</summary>
    private Operation? Find(string method, string path) =>
        _operations.Where(o => o.Method == method && o.Pattern.IsMatch(path)).OrderBy(o => o.Path.Count(c => c == '{')).FirstOrDefault();

    private void Check(HttpRequestMessage request, HttpResponseMessage response, string body)
    {
        var path = request.RequestUri!.AbsolutePath;
        path = path.StartsWith("/api", StringComparison.Ordinal) ? path[4..] : path;
        var operation = Find(request.Method.Method, path);
        if (operation is null)
        {
            Violate($"{request.Method} {path}: no operation in the document");
            return;
        }
        lock (_gate) _covered.Add(operation.Id);
        var status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (!operation.Definition.GetProperty("responses").TryGetProperty(status, out var documented))
        {
            Violate($"{operation.Id}: answered {status}, which it does not document ({body[..Math.Min(body.Length, 300)]})");
            return;
        }
        documented = Resolve(documented);
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (body.Length == 0 || mediaType is null) return;
        if (!documented.TryGetProperty("content", out var content))
        {
            Violate($"{operation.Id} {status}: a {mediaType} body where the document has none");
            return;
        }
        if (!content.TryGetProperty(mediaType, out var media))
        {
            Violate($"{operation.Id} {status}: {mediaType} is not a documented content type ({string.Join(", ", content.EnumerateObject().Select(c => c.Name))})");
            return;
        }
        if (!mediaType.EndsWith("json", StringComparison.Ordinal) || !media.TryGetProperty("schema", out var schema)) return;
        var result = Evaluate(schema, body);
        if (result is not null) Violate($"{operation.Id} {status}: the body does not match the schema: {result} in {body[..Math.Min(body.Length, 500)]}");
    }

    /// <summary>Validates against a schema from the document (its component references resolved); null when valid, else why not.</summary>
    private string? Evaluate(JsonElement schema, string body)
    {
        var standalone = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$defs"] = new JsonObject(_schemas.Select(s => KeyValuePair.Create(s.Key, (JsonNode?)s.Value.DeepClone()))),
            ["allOf"] = new JsonArray(JsonNode.Parse(schema.GetRawText())),
        };
        var text = standalone.ToJsonString().Replace("#/components/schemas/", "#/$defs/", StringComparison.Ordinal);
        var built = JsonSchema.FromText(text, new BuildOptions { SchemaRegistry = new SchemaRegistry() });
        using var instance = JsonDocument.Parse(body);
        var result = built.Evaluate(instance.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (result.IsValid) return null;
        return string.Join("; ", (result.Details ?? []).Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}")).Take(5));
    }

    /// <summary>A response given as a reference to components/responses.</summary>
    private JsonElement Resolve(JsonElement response) =>
        response.TryGetProperty("$ref", out var reference)
            ? Document.GetProperty("components").GetProperty("responses").GetProperty(reference.GetString()!.Split('/')[^1])
            : response;

    private void Violate(string violation)
    {
        lock (_gate) _violations.Add(violation);
    }

    private static Regex Matcher(string template) =>
        new("^" + Regex.Replace(Regex.Escape(template), @"\\\{[^}]+}", "[^/]+") + "$", RegexOptions.CultureInvariant);

    /// <summary>One method on one path; <see cref="Pattern"/> matches request paths (under /api) it serves.</summary>
    public sealed record Operation(string Method, string Path, string Id, JsonElement Definition, Regex Pattern);

    private sealed class Checker(OpenApiContract contract) : DelegatingHandler(new HttpClientHandler { AllowAutoRedirect = false })
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            // Read the body once and put it back, so the test can read it too.
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            var headers = response.Content.Headers.ToList();
            response.Content = new ByteArrayContent(bytes);
            foreach (var (name, values) in headers) response.Content.Headers.TryAddWithoutValidation(name, values);
            contract.Check(request, response, System.Text.Encoding.UTF8.GetString(bytes));
            return response;
        }
    }
}
