using System.IO.Compression;
using UglyToad.PdfPig.Filters;
using UglyToad.PdfPig.Tokens;

namespace SmartApp.Domain.Files.Ingestion;

/// <summary>
/// PdfPig's stream filters behind a budget: before a Flate stream is decoded (which PdfPig does whole,
/// in memory), it is inflated once into nothing, counting, and refused when it would expand past
/// <see cref="ExtractionLimits.MaxDecodedStreamBytes"/>; every decoded stream counts toward the file's
/// decompression budget. A PDF whose content stream is a compression bomb stops here, not in memory.
/// </summary>
internal sealed class BoundedPdfFilters(ExtractionBudget budget) : IFilterProvider
{
    private readonly IFilterProvider _inner = DefaultFilterProvider.Instance;

    public IReadOnlyList<IFilter> GetFilters(DictionaryToken dictionary) => _inner.GetFilters(dictionary).Select(Wrap).ToList();

    public IReadOnlyList<IFilter> GetNamedFilters(IReadOnlyList<NameToken> names) => _inner.GetNamedFilters(names).Select(Wrap).ToList();

    public IReadOnlyList<IFilter> GetAllFilters() => _inner.GetAllFilters().Select(Wrap).ToList();

    private IFilter Wrap(IFilter filter) => filter is Bounded ? filter : new Bounded(filter, budget);

    private sealed class Bounded(IFilter inner, ExtractionBudget budget) : IFilter
    {
        public bool IsSupported => inner.IsSupported;

        public Memory<byte> Decode(Memory<byte> input, DictionaryToken streamDictionary, IFilterProvider filterProvider, int filterIndex)
        {
            budget.Check();
            if (inner is FlateFilter) CheckInflatedSize(input.Span);
            var decoded = inner.Decode(input, streamDictionary, filterProvider, filterIndex);
            budget.AddDecodedBytes(decoded.Length);
            return decoded;
        }

        private void CheckInflatedSize(ReadOnlySpan<byte> input)
        {
            if (input.Length < 2) return;
            var max = budget.Limits.MaxDecodedStreamBytes;
            var copy = input[2..].ToArray(); // after the zlib header, as PdfPig reads it
            using var inflater = new DeflateStream(new MemoryStream(copy), CompressionMode.Decompress);
            var buffer = new byte[81920];
            long total = 0;
            try
            {
                int read;
                while ((read = inflater.Read(buffer)) > 0)
                {
                    total += read;
                    if (total > max)
                        throw new ExtractionLimitException($"A stream in the PDF expands to more than {ExtractionBudget.Megabytes(max)}; at most that much is read from one stream.");
                    if ((total & 0xFFFFF) < read) budget.Check();
                }
            }
            catch (InvalidDataException)
            {
                // Damaged data: PdfPig decides what it can recover, within the same bound on what it returns.
            }
        }
    }
}
