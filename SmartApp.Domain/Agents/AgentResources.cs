using System.Text.Json;
using SmartApp.Domain.Common;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Files;
using SmartApp.Domain.Identity;
using SmartApp.Domain.Memory;

namespace SmartApp.Domain.Agents;

/// <summary>A piece of the user's data an agent can read whole, by its URI.</summary>
public sealed record AgentResource(string Uri, string Name, string MimeType, string? Description = null);

/// <summary>
/// The user's files and memory documents as readable resources (MCP's resources): <c>smartapp://files/{fileId}</c> — the
/// file's record and a download URL valid for <c>Files:SignedUrlLifetime</c> — and <c>smartapp://memory/documents/{documentId}</c>,
/// the document as it was kept. Only the signed-in user's own; anything else is not found.
/// </summary>
public sealed class AgentResources(FileService files, MemoryService memory)
{
    public const string FilePrefix = "smartapp://files/", DocumentPrefix = "smartapp://memory/documents/";

    /// <summary>The URI templates a client can fill in.</summary>
    public static IReadOnlyList<AgentResource> Templates { get; } =
    [
        new(FilePrefix + "{fileId}", "file", "application/json", "One of the user's files: its name, type, size, indexing status, and a download URL valid for a while."),
        new(DocumentPrefix + "{documentId}", "memory-document", "application/json", "A semantic memory document of the user's, as it was kept."),
    ];

    /// <summary>The user's most recent files (one page), as resources.</summary>
    public async Task<IReadOnlyList<AgentResource>> ListAsync(CurrentUser user, CancellationToken cancellationToken)
    {
        var page = await files.ListAsync(user, null, null, null, FileService.DefaultListCount, cancellationToken).ConfigureAwait(false);
        return [.. page.Files.Select(f => new AgentResource(FilePrefix + f.Id, f.Name, "application/json", $"{f.ContentType}, {f.Size} bytes"))];
    }

    /// <summary>The resource's content as JSON text; 404 for a URI that names nothing of the user's.</summary>
    public async Task<string> ReadAsync(CurrentUser user, string? uri, CancellationToken cancellationToken)
    {
        if (uri?.StartsWith(FilePrefix, StringComparison.Ordinal) == true)
        {
            var file = await files.GetAsync(user, uri[FilePrefix.Length..], cancellationToken).ConfigureAwait(false);
            var download = await files.GetDownloadUrlAsync(user, file, cancellationToken).ConfigureAwait(false);
            return JsonSerializer.Serialize(new
            {
                id = file.Id, name = file.Name, contentType = file.ContentType, size = file.Size, status = EnumNames.Of(file.Status),
                downloadUrl = download.Url, downloadUrlExpiresAt = download.ExpiresAt,
            }, JsonDefaults.Options);
        }
        if (uri?.StartsWith(DocumentPrefix, StringComparison.Ordinal) == true)
        {
            var document = await memory.GetDocumentAsync(user, uri[DocumentPrefix.Length..], cancellationToken).ConfigureAwait(false);
            return document.Document?.GetRawText() ?? JsonSerializer.Serialize(document.Content, JsonDefaults.Options);
        }
        throw new NotFoundException("No such resource.");
    }
}
