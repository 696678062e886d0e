using System.IO.Compression;
using System.Text;
using System.Xml;

namespace SmartApp.Domain.Files.Ingestion;

/// <summary>
/// Office documents (ZIP packages of XML parts) read within an <see cref="ExtractionBudget"/>: the
/// package's directory is checked before anything is decompressed (entries, declared sizes, ratios),
/// and each part is streamed through an <see cref="XmlReader"/> that counts what it decompresses, so
/// a package whose headers lie is stopped by what it really expands to. No part is loaded whole.
/// </summary>
internal static class OfficeParts
{
    /// <summary>Parts smaller than this are not judged by their compression ratio (tiny XML compresses well).</summary>
    private const long RatioCheckedFrom = 1024 * 1024;

    /// <summary>Refuses a package whose directory announces a bomb: too many entries, too large in total, or a part that expands too many times.</summary>
    public static void CheckDirectory(Stream package, ExtractionBudget budget)
    {
        var limits = budget.Limits;
        using (var zip = new ZipArchive(package, ZipArchiveMode.Read, leaveOpen: true))
        {
            if (zip.Entries.Count > limits.MaxPackageEntries)
                throw new ExtractionLimitException($"The document has {zip.Entries.Count} parts; at most {limits.MaxPackageEntries} are read.");
            long total = 0;
            foreach (var entry in zip.Entries)
            {
                total += entry.Length;
                if (total > limits.MaxPackageBytes)
                    throw new ExtractionLimitException($"The document expands to more than {ExtractionBudget.Megabytes(limits.MaxPackageBytes)} when decompressed; at most that much is read from one file.");
                if (entry.Length >= RatioCheckedFrom && entry.Length > entry.CompressedLength * limits.MaxCompressionRatio)
                    throw new ExtractionLimitException(
                        $"Part '{entry.FullName}' expands {entry.Length / Math.Max(1, entry.CompressedLength)} times when decompressed; at most {limits.MaxCompressionRatio:0} times is accepted.");
            }
        }
        package.Position = 0;
    }

    public enum Kind { Start, End, Text }

    /// <summary>One step through a part: an element starting (attributes readable on <see cref="Reader"/>), ending, or the text of a text element.</summary>
    public readonly record struct Event(Kind Kind, string Name, string Text, XmlReader Reader);

    /// <summary>
    /// Streams a part's elements. The content of elements named in <paramref name="textElements"/> comes
    /// as one <see cref="Kind.Text"/> event (counted against the budget); depth, bytes and time are checked as it goes.
    /// </summary>
    public static IEnumerable<Event> Read(Stream part, ExtractionBudget budget, IReadOnlySet<string> textElements)
    {
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, IgnoreComments = true, IgnoreProcessingInstructions = true,
            MaxCharactersInDocument = budget.Limits.MaxPackageBytes, MaxCharactersFromEntities = 0, CloseInput = true,
        };
        using var reader = XmlReader.Create(new CountingStream(part, budget), settings);
        var text = new StringBuilder();
        var chunk = new char[64 * 1024];
        var steps = 0;
        while (reader.Read())
        {
            if ((++steps & 0x3FF) == 0) budget.Check();
            if (reader.NodeType == XmlNodeType.EndElement)
            {
                yield return new Event(Kind.End, reader.LocalName, "", reader);
                continue;
            }
            if (reader.NodeType != XmlNodeType.Element) continue;
            budget.CheckDepth(reader.Depth);
            var name = reader.LocalName;
            var empty = reader.IsEmptyElement;
            yield return new Event(Kind.Start, name, "", reader);
            if (empty)
            {
                yield return new Event(Kind.End, name, "", reader);
                continue;
            }
            if (!textElements.Contains(name)) continue;
            text.Clear();
            // In chunks: one text node can be a whole part's worth of characters.
            while (reader.Read() && reader.NodeType is XmlNodeType.Text or XmlNodeType.CDATA or XmlNodeType.Whitespace or XmlNodeType.SignificantWhitespace)
            {
                int read;
                while ((read = reader.ReadValueChunk(chunk, 0, chunk.Length)) > 0)
                {
                    budget.AddCharacters(read);
                    budget.Check();
                    text.Append(chunk, 0, read);
                }
            }
            yield return new Event(Kind.Text, name, text.ToString(), reader);
            if (reader.NodeType == XmlNodeType.EndElement) yield return new Event(Kind.End, reader.LocalName, "", reader);
        }
    }

    /// <summary>Counts the bytes a part decompresses to against the budget (whatever its header said).</summary>
    private sealed class CountingStream(Stream inner, ExtractionBudget budget) : Stream
    {
        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = inner.Read(buffer, offset, count);
            budget.AddDecodedBytes(read);
            return read;
        }

        public override int Read(Span<byte> buffer)
        {
            var read = inner.Read(buffer);
            budget.AddDecodedBytes(read);
            return read;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
