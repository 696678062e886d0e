using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace SmartApp.Domain.Common.Telemetry;

/// <summary>
/// The app's own traces and metrics (source and meter "SmartApp"). Each capability records its
/// measures here, so that one OpenTelemetry registration exports them all.
/// </summary>
public static class SmartAppTelemetry
{
    public const string Name = "SmartApp";

    public static readonly ActivitySource Source = new(Name);
    public static readonly Meter Meter = new(Name);

    /// <summary>Sign-ins, by provider (demo, workos) and grant (demo, code, refresh).</summary>
    public static readonly Counter<long> SignIns = Meter.CreateCounter<long>("smartapp.identity.sign_ins", "{sign-in}", "Completed sign-ins and token refreshes");

    /// <summary>Account deletions finished, by outcome (completed, failed).</summary>
    public static readonly Counter<long> AccountDeletions = Meter.CreateCounter<long>("smartapp.identity.account_deletions", "{deletion}", "Account deletions carried out");

    /// <summary>How long an account deletion took from request to completion.</summary>
    public static readonly Histogram<double> AccountDeletionDuration = Meter.CreateHistogram<double>("smartapp.identity.account_deletion.duration", "s", "From request to completion");

    /// <summary>Sessions summarised into episodic memory, by method (model, extractive).</summary>
    public static readonly Counter<long> SessionsSummarized = Meter.CreateCounter<long>("smartapp.memory.sessions_summarized", "{session}", "Ended sessions written to episodic memory");

    /// <summary>How long a memory search took inside the app, by where it ran (local).</summary>
    public static readonly Counter<long> FactsLearned = Meter.CreateCounter<long>("smartapp.memory.facts_learned", "{fact}", "What learning after a chat turn did with each extracted fact (action: add, update, delete, none, forgotten)");

    public static readonly Histogram<double> MemorySearchDuration = Meter.CreateHistogram<double>("smartapp.memory.search.duration", "ms", "Memory search, from query to ranked results");

    /// <summary>Ingestions finished, by outcome (indexed, retrying, failed).</summary>
    public static readonly Counter<long> FilesIngested = Meter.CreateCounter<long>("smartapp.files.ingested", "{file}", "File ingestions finished");

    /// <summary>Model tokens used by chat, by direction (prompt, completion).</summary>
    public static readonly Counter<long> ToolCalls = Meter.CreateCounter<long>("smartapp.agents.tool_calls", "{call}", "Calls of SmartApp's tools, in chat and through MCP");

    public static readonly Counter<long> ModelTokens = Meter.CreateCounter<long>("smartapp.chat.model_tokens", "{token}", "Tokens sent to and received from the model");

    /// <summary>How long each ingestion stage took, by stage (extract, chunk, embed, index).</summary>
    public static readonly Histogram<double> IngestionStageDuration = Meter.CreateHistogram<double>("smartapp.files.ingestion.stage.duration", "s", "Time spent in one ingestion stage of one file");

    /// <summary>From a file's upload to its passages being searchable.</summary>
    public static readonly Histogram<double> IngestionLatency = Meter.CreateHistogram<double>("smartapp.files.ingestion.latency", "s", "Upload to indexed");

    /// <summary>Messages the host moved to a poison queue and the app then failed, by queue.</summary>
    public static readonly Counter<long> Poisoned = Meter.CreateCounter<long>("smartapp.queue.poisoned", "{message}", "Work given up after the queue's last delivery");

    /// <summary>The work queues' length and the age of their oldest message, as last sampled (by the SweepFiles timer).</summary>
    public static readonly System.Collections.Concurrent.ConcurrentDictionary<string, (long Length, double OldestAgeSeconds)> QueueSamples = new(StringComparer.Ordinal);

    public static readonly ObservableGauge<long> QueueLength = Meter.CreateObservableGauge("smartapp.queue.length",
        () => QueueSamples.Select(q => new Measurement<long>(q.Value.Length, new KeyValuePair<string, object?>("queue", q.Key))), "{message}", "Messages waiting in a work queue");

    public static readonly ObservableGauge<double> QueueOldestAge = Meter.CreateObservableGauge("smartapp.queue.oldest_age",
        () => QueueSamples.Select(q => new Measurement<double>(q.Value.OldestAgeSeconds, new KeyValuePair<string, object?>("queue", q.Key))), "s", "Age of the oldest message in a work queue");

    /// <summary>From Stripe creating an event to the app applying it, by event type.</summary>
    public static readonly Histogram<double> WebhookLag = Meter.CreateHistogram<double>("smartapp.billing.webhook.lag", "s", "Stripe event creation to application");
}
