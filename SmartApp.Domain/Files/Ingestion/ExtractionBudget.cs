using System.Globalization;

namespace SmartApp.Domain.Files.Ingestion;

/// <summary>The bounds one file's extraction works within, from <see cref="FilesOptions"/>.</summary>
public sealed record ExtractionLimits(
    long MaxCharacters, long MaxMarkupCharacters, long MaxPackageBytes, int MaxPackageEntries, double MaxCompressionRatio,
    long MaxDecodedStreamBytes, int MaxPdfPages, int MaxNestingDepth, TimeSpan Timeout, long MemoryBytes)
{
    public static ExtractionLimits From(FilesOptions options) => new(
        options.MaxExtractedCharacters, options.MaxMarkupCharacters, options.MaxPackageBytes, options.MaxPackageEntries, options.MaxCompressionRatio,
        options.MaxPdfStreamBytes, options.MaxPdfPages, options.MaxNestingDepth, options.ExtractionTimeout, options.ExtractionMemoryBytes);
}

/// <summary>
/// What one file's extraction may still spend: characters of text, bytes decompressed, time and
/// resident memory. Readers report what they use and call <see cref="Check"/> in their loops; past
/// any bound they stop with an <see cref="ExtractionLimitException"/> whose message a user understands.
/// </summary>
public sealed class ExtractionBudget : IDisposable
{
    private static readonly TimeSpan MemoryProbeInterval = TimeSpan.FromMilliseconds(50);

    private readonly CancellationTokenSource _stop;
    private readonly Timer _memoryProbe;
    private readonly long _baselineMemory = Environment.WorkingSet;
    private readonly CancellationToken _outer;
    private long _characters;
    private long _decodedBytes;
    private readonly string _timeoutReason;
    private volatile string? _stopReason;

    public ExtractionBudget(ExtractionLimits limits, CancellationToken outer)
    {
        Limits = limits;
        _outer = outer;
        _timeoutReason = $"The document took longer than {limits.Timeout.TotalSeconds:0} s to read; at most that long is spent on one file.";
        _stop = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _stop.CancelAfter(limits.Timeout);
        _memoryProbe = new Timer(_ => ProbeMemory(), null, MemoryProbeInterval, MemoryProbeInterval);
    }

    public ExtractionLimits Limits { get; }

    /// <summary>Cancelled when the time or memory budget is spent (or the app stops).</summary>
    public CancellationToken Token => _stop.Token;

    /// <summary>Throws when the time or memory budget is spent; shutting down is an ordinary cancellation.</summary>
    public void Check()
    {
        if (!_stop.IsCancellationRequested) return;
        _outer.ThrowIfCancellationRequested();
        throw new ExtractionLimitException(_stopReason ?? _timeoutReason);
    }

    /// <summary>Counts text kept; past <see cref="ExtractionLimits.MaxCharacters"/> the file is refused.</summary>
    public void AddCharacters(long count)
    {
        if (Interlocked.Add(ref _characters, count) > Limits.MaxCharacters)
            throw new ExtractionLimitException($"The document has more than {Describe(Limits.MaxCharacters)} characters of text; at most that much is read from one file.");
    }

    /// <summary>Counts bytes a compressed part or stream expands to; past <see cref="ExtractionLimits.MaxPackageBytes"/> the file is refused.</summary>
    public void AddDecodedBytes(long count)
    {
        if (Interlocked.Add(ref _decodedBytes, count) > Limits.MaxPackageBytes)
            throw new ExtractionLimitException($"The document expands to more than {Megabytes(Limits.MaxPackageBytes)} when decompressed; at most that much is read from one file.");
    }

    public void CheckDepth(int depth)
    {
        if (depth > Limits.MaxNestingDepth)
            throw new ExtractionLimitException($"The document nests elements more than {Limits.MaxNestingDepth} deep; deeper nesting is not read.");
    }

    public static string Megabytes(long bytes) => $"{bytes / (1024 * 1024)} MB";

    private static string Describe(long count) => count.ToString("N0", CultureInfo.InvariantCulture);

    private void ProbeMemory()
    {
        if (Environment.WorkingSet - _baselineMemory <= Limits.MemoryBytes || _stop.IsCancellationRequested) return;
        _stopReason = $"The document needs more than {Megabytes(Limits.MemoryBytes)} of memory to read; at most that much is spent on one file.";
        _stop.Cancel();
    }

    public void Dispose()
    {
        _memoryProbe.Dispose();
        _stop.Dispose();
    }
}

/// <summary>A file past one of the extraction bounds; the message says which, in the user's terms.</summary>
public sealed class ExtractionLimitException(string message) : Exception(message);
