using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using SmartApp.Domain.Agents;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Errors;
using SmartApp.Functions.Http;

namespace SmartApp.Functions.Agents;

/// <summary>
/// SmartApp as an MCP server (the OpenAPI document's "Agents" tag): <c>POST /api/mcp</c> speaks the Streamable HTTP transport of
/// the official C# SDK, stateless — every request is served on its own, by whichever instance gets it — with the signed-in user's
/// tools (<see cref="AgentTools"/>). Without a token the answer is 401 with <c>WWW-Authenticate: Bearer resource_metadata=…</c>
/// pointing at the OAuth protected-resource metadata (RFC 9728), which names the authorization server an MCP client signs the
/// user in with (WorkOS AuthKit).
/// </summary>
public sealed class McpFunctions(IAgentToolbox tools, AgentResources resources, IOptions<AgentOptions> options, ILoggerFactory loggerFactory, IServiceProvider services)
{
    public const string Route = "mcp", MetadataRoute = ".well-known/oauth-protected-resource";

    private const string Instructions =
        "Tools over the signed-in user's own SmartApp data: search_memory, remember and forget for their long-term memory; search_files and ask_file " +
        "for their uploaded files; list_tables, query_data and get_record for their data tables. Everything is the user's own and nobody else's.";

    [Function("McpEndpoint")]
    public async Task Post([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = Route)] HttpRequest req)
    {
        var user = req.CurrentUser();
        var accept = req.GetTypedHeaders().Accept;
        if (!accept.Any(a => a.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
            || !accept.Any(a => a.MediaType.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase)))
            throw new ValidationFailedException("Accept", "An MCP client must accept both application/json and text/event-stream (Streamable HTTP).");
        var body = await req.ReadJsonAsync<JsonObject>().ConfigureAwait(false);
        JsonRpcMessage message;
        try
        {
            message = body.Deserialize<JsonRpcMessage>(McpJsonUtilities.DefaultOptions) ?? throw new JsonException();
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            throw new ValidationFailedException("body", "The body is not a JSON-RPC 2.0 message.");
        }
        var protocolVersion = req.Headers["MCP-Protocol-Version"].ToString();
        if (protocolVersion.Length > 0) (message.Context ??= new()).ProtocolVersion = protocolVersion;

        var functions = tools.For(user, new ToolFindings()).ToDictionary(f => f.Name, StringComparer.Ordinal);
        var serverOptions = new McpServerOptions
        {
            ServerInfo = new Implementation { Name = "smartapp", Title = "SmartApp", Version = typeof(McpFunctions).Assembly.GetName().Version?.ToString() ?? "1.0.0" },
            ServerInstructions = Instructions,
            ScopeRequests = false,
            Capabilities = new ServerCapabilities { Tools = new ToolsCapability(), Resources = new ResourcesCapability() },
            Handlers = new McpServerHandlers
            {
                ListToolsHandler = (_, _) => ValueTask.FromResult(new ListToolsResult
                {
                    Tools = [.. functions.Values.Select(f => new Tool { Name = f.Name, Description = f.Description, InputSchema = f.JsonSchema })],
                }),
                ListResourceTemplatesHandler = (_, _) => ValueTask.FromResult(new ListResourceTemplatesResult
                {
                    ResourceTemplates = [.. AgentResources.Templates.Select(t => new ResourceTemplate { UriTemplate = t.Uri, Name = t.Name, MimeType = t.MimeType, Description = t.Description })],
                }),
                ListResourcesHandler = async (_, cancellationToken) => new ListResourcesResult
                {
                    Resources = [.. (await resources.ListAsync(user, cancellationToken).ConfigureAwait(false))
                        .Select(r => new Resource { Uri = r.Uri, Name = r.Name, MimeType = r.MimeType, Description = r.Description })],
                },
                ReadResourceHandler = async (request, cancellationToken) =>
                {
                    var uri = request.Params?.Uri;
                    try
                    {
                        var text = await resources.ReadAsync(user, uri, cancellationToken).ConfigureAwait(false);
                        return new ReadResourceResult { Contents = [new TextResourceContents { Uri = uri!, MimeType = "application/json", Text = text }] };
                    }
                    catch (DomainException ex)
                    {
                        throw new McpProtocolException(ex.Message,
                            // The 2026-07-28 revision reports a missing resource as invalid params; earlier ones had a code of its own.
                            string.CompareOrdinal(protocolVersion, "2026-07-28") >= 0 ? McpErrorCode.InvalidParams : McpErrorCode.ResourceNotFound);
                    }
                },
                CallToolHandler = async (request, cancellationToken) =>
                {
                    var name = request.Params?.Name ?? "";
                    if (!functions.TryGetValue(name, out var function))
                        throw new McpProtocolException($"Unknown tool '{name}'.", McpErrorCode.InvalidParams);
                    var arguments = new AIFunctionArguments(request.Params!.Arguments?.ToDictionary(a => a.Key, a => (object?)a.Value) ?? []);
                    var result = await function.InvokeAsync(arguments, cancellationToken).ConfigureAwait(false);
                    var json = JsonSerializer.SerializeToElement(result, JsonDefaults.Options);
                    return new CallToolResult
                    {
                        Content = [new TextContentBlock { Text = json.GetRawText() }],
                        StructuredContent = json,
                        IsError = AgentTools.IsRefusal(result),
                    };
                },
            },
        };

        var response = req.HttpContext.Response;
        var cancellationToken = req.HttpContext.RequestAborted;
        var transport = new StreamableHttpServerTransport(loggerFactory) { Stateless = true };
        await using (transport.ConfigureAwait(false))
        {
            await using var server = McpServer.Create(transport, serverOptions, loggerFactory, services);
            var running = server.RunAsync(cancellationToken);
            response.Headers.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache,no-store";
            response.Headers["X-Accel-Buffering"] = "no";
            req.HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            if (!await transport.HandlePostRequestAsync(message, response.Body, cancellationToken).ConfigureAwait(false))
            {
                // A notification or a response from the client: accepted, nothing to answer.
                response.Headers.ContentType = (string?)null;
                response.StatusCode = StatusCodes.Status202Accepted;
            }
            await transport.DisposeAsync().ConfigureAwait(false);
            await running.ConfigureAwait(false);
        }
    }

    /// <summary>Stateless: no stream for server-initiated messages, and no session to end.</summary>
    [Function("McpEndpointOther")]
    public IActionResult Other([HttpTrigger(AuthorizationLevel.Anonymous, "get", "delete", Route = Route)] HttpRequest req)
    {
        _ = req.CurrentUser();
        req.HttpContext.Response.Headers.Allow = "POST";
        return new StatusCodeResult(StatusCodes.Status405MethodNotAllowed);
    }

    /// <summary>OAuth 2.0 protected-resource metadata (RFC 9728) for <c>/api/mcp</c>: the resource, and who signs its users in.</summary>
    [Function("McpResourceMetadata")]
    [AllowAnonymous]
    public IActionResult Metadata([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = MetadataRoute)] HttpRequest req)
    {
        var metadata = new JsonObject
        {
            ["resource"] = ResourceUrl(req.HttpContext),
            ["bearer_methods_supported"] = new JsonArray("header"),
            ["resource_name"] = "SmartApp",
        };
        if (options.Value.AuthorizationServer is { Length: > 0 } server) metadata["authorization_servers"] = new JsonArray(server);
        return new OkObjectResult(metadata);
    }

    /// <summary>The MCP endpoint's URL as the client reached it.</summary>
    internal static string ResourceUrl(HttpContext context) => ApiUrl(context, Route);

    /// <summary>The metadata's URL, for <c>WWW-Authenticate</c> on a 401 from the MCP endpoint.</summary>
    internal static string MetadataUrl(HttpContext context) => ApiUrl(context, MetadataRoute);

    private static string ApiUrl(HttpContext context, string route) => $"{context.Request.Scheme}://{context.Request.Host}/api/{route}";

    /// <summary>Whether the request is for the MCP endpoint.</summary>
    internal static bool Applies(HttpContext context) => context.Request.Path.Value?.TrimEnd('/').EndsWith("/api/" + Route, StringComparison.Ordinal) == true;
}
