using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Common.Raindrop;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Domain.Memory.Adapters.Raindrop;

/// <summary>
/// Mirrors memory to SmartMemory, change by change from the <c>memories</c> feed: a session is started
/// there when it (or its first memory) is seen and ended when it ends here (with flush when it was
/// summarised, so Raindrop writes its own episodic summary); working memories go to their session,
/// documents to semantic memory, procedures to the user's procedural memory; tombstones delete.
/// Episodic summaries are not sent: Raindrop writes its own from the session.
/// </summary>
public sealed class MemoryMirror(RaindropSmartMemory memory, MirrorLedger ledger, IOptions<MemoryOptions> memoryOptions, IOptions<RaindropOptions> raindrop)
    : IMirrorHandler
{
    public string Area => RaindropSmartMemory.Area;

    public bool Enabled => raindrop.Value.Serves(memoryOptions.Value.Provider);

    public CosmosContainerSpec Container => CosmosContainers.Memories;

    /// <summary>Ledger ids carry the user: our memory ids are only unique within a user's partition.</summary>
    public static string LedgerId(string userId, string id) => $"{userId}:{id}";

    public async Task ApplyAsync(JsonElement change, CancellationToken cancellationToken)
    {
        if (change.Text("id") is not { } id || change.Text("userId") is not { } userId) return;
        switch (change.Text("type"))
        {
            case "session":
                await ApplySessionAsync(userId, id, change, cancellationToken).ConfigureAwait(false);
                break;
            case "memory" when change.IsDeleted():
                await DeleteAsync(userId, id, cancellationToken).ConfigureAwait(false);
                break;
            case "memory":
                await PutAsync(userId, id, change, cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    private async Task ApplySessionAsync(string userId, string sessionId, JsonElement change, CancellationToken cancellationToken)
    {
        var raindropSession = await EnsureSessionAsync(userId, sessionId, cancellationToken).ConfigureAwait(false);
        if (change.Text("endedAt") is null) return;
        var mirrored = await ledger.FindAsync(Area, LedgerId(userId, sessionId), cancellationToken).ConfigureAwait(false);
        if (mirrored?.Version == Ended) return;
        await memory.EndSessionAsync(raindropSession, flush: change.Text("episodicMemoryId") is not null, cancellationToken).ConfigureAwait(false);
        await ledger.RecordAsync(Area, LedgerId(userId, sessionId), userId, raindropSession, Ended, cancellationToken, findable: true).ConfigureAwait(false);
    }

    /// <summary>The SmartMemory session of one of ours, started on first sight (a session's memories may be read from the feed before it).</summary>
    private async Task<string> EnsureSessionAsync(string userId, string sessionId, CancellationToken cancellationToken)
    {
        if (await ledger.FindAsync(Area, LedgerId(userId, sessionId), cancellationToken).ConfigureAwait(false) is { } mirrored) return mirrored.RaindropId;
        var started = await memory.StartSessionAsync(cancellationToken).ConfigureAwait(false);
        await ledger.RecordAsync(Area, LedgerId(userId, sessionId), userId, started, Open, cancellationToken, findable: true).ConfigureAwait(false);
        return started;
    }

    private async Task PutAsync(string userId, string id, JsonElement change, CancellationToken cancellationToken)
    {
        var ledgerId = LedgerId(userId, id);
        var content = change.Text("content") ?? "";
        var mirrored = await ledger.FindAsync(Area, ledgerId, cancellationToken).ConfigureAwait(false);
        switch (change.Text("kind"))
        {
            case "working" when mirrored is null && change.Text("sessionId") is { } sessionId:
                // A working memory's id is derived from what it says, so a stored one never changes.
                var session = await EnsureSessionAsync(userId, sessionId, cancellationToken).ConfigureAwait(false);
                var memoryId = await memory.PutMemoryAsync(session, content, change.Text("timeline"), change.Text("key"), change.Text("agent"), cancellationToken).ConfigureAwait(false);
                await ledger.RecordAsync(Area, ledgerId, userId, memoryId, "1", cancellationToken, scope: session, findable: true).ConfigureAwait(false);
                break;
            case "semantic" when mirrored is null && change.TryGetProperty("document", out var document):
                var objectId = await memory.PutSemanticAsync(document.GetRawText(), cancellationToken).ConfigureAwait(false);
                await ledger.RecordAsync(Area, ledgerId, userId, objectId, "1", cancellationToken, findable: true).ConfigureAwait(false);
                break;
            case "procedural" when change.Text("key") is { } key:
                var version = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));
                if (mirrored?.Version == version) return;
                var procedures = RaindropSmartMemory.ProceduralMemoryOf(userId);
                await memory.PutProcedureAsync(procedures, key, content, cancellationToken).ConfigureAwait(false);
                await ledger.RecordAsync(Area, ledgerId, userId, $"{procedures}/{key}", version, cancellationToken, scope: key).ConfigureAwait(false);
                break;
        }
    }

    private async Task DeleteAsync(string userId, string id, CancellationToken cancellationToken)
    {
        if (await ledger.FindAsync(Area, LedgerId(userId, id), cancellationToken).ConfigureAwait(false) is not { } mirrored) return; // never reached Raindrop
        await EraseAsync(mirrored, cancellationToken).ConfigureAwait(false);
        await ledger.ForgetAsync(Area, mirrored, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What an item is follows from our id's prefix (<see cref="MemoryIds"/>).</summary>
    public async Task EraseAsync(MirroredItem item, CancellationToken cancellationToken)
    {
        var ours = item.ItemId[(item.ItemId.IndexOf(':', StringComparison.Ordinal) + 1)..];
        switch (ours[..Math.Max(0, ours.IndexOf('_', StringComparison.Ordinal))])
        {
            case MemoryIds.Session when item.Version == Open:
                await memory.EndSessionAsync(item.RaindropId, flush: false, cancellationToken).ConfigureAwait(false);
                break;
            case MemoryIds.Working when item.Scope is { } session:
                await memory.DeleteMemoryAsync(session, item.RaindropId, cancellationToken).ConfigureAwait(false);
                break;
            case MemoryIds.Semantic:
                await memory.DeleteSemanticAsync(item.RaindropId, cancellationToken).ConfigureAwait(false);
                break;
            case MemoryIds.Procedural when item.Scope is { } key:
                await memory.DeleteProcedureAsync(RaindropSmartMemory.ProceduralMemoryOf(item.UserId), key, cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    private const string Open = "open", Ended = "ended";
}
