using System.IO.Compression;
using System.Text;

namespace SmartApp.Fakes;

/// <summary>
/// Documents made to abuse a document reader: small files that expand to a gigabyte, lie about their
/// sizes, or nest without end. Built here, by the tests and the load program, as an attacker would.
/// </summary>
public static class HostileDocuments
{
    /// <summary>The Office formats a bomb can be made of: the part that holds the text, and the package around it.</summary>
    public enum Office { Docx, Xlsx, Pptx }

    private const string Relationships = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

    /// <summary>
    /// A small, valid Office package whose text part expands to <paramref name="textBytes"/> of text (a zip
    /// bomb: a few MB that decompress to a GB), optionally inside <paramref name="nesting"/> nested elements.
    /// With <paramref name="lieAboutSize"/> the package's directory claims the part is tiny.
    /// </summary>
    public static byte[] OfficeBomb(Office kind, long textBytes, int nesting = 0, bool lieAboutSize = false)
    {
        var (mainPath, mainType, relType, mainXml, textPath, textType, textRelType, before, after) = kind switch
        {
            Office.Docx => ("word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml", "", "", "", "", "",
                "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body><w:p><w:r>", "</w:r></w:p></w:body></w:document>"),
            Office.Xlsx => ("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", "worksheet",
                $"<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" xmlns:r=\"{Relationships}\"><sheets><sheet name=\"S\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>",
                "xl/worksheets/sheet1.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml", "worksheets/sheet1.xml",
                "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData><row><c t=\"inlineStr\"><is>", "</is></c></row></sheetData></worksheet>"),
            _ => ("ppt/presentation.xml", "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml", "slide",
                $"<p:presentation xmlns:p=\"http://schemas.openxmlformats.org/presentationml/2006/main\" xmlns:r=\"{Relationships}\"><p:sldIdLst><p:sldId id=\"256\" r:id=\"rId1\"/></p:sldIdLst></p:presentation>",
                "ppt/slides/slide1.xml", "application/vnd.openxmlformats-officedocument.presentationml.slide+xml", "slides/slide1.xml",
                "<p:sld xmlns:p=\"http://schemas.openxmlformats.org/presentationml/2006/main\" xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\"><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r>",
                "</a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>"),
        };
        var textElement = kind switch { Office.Docx => "w:t", Office.Xlsx => "t", _ => "a:t" };
        using var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
        {
            void Entry(string path, string text)
            {
                using var writer = new StreamWriter(zip.CreateEntry(path).Open(), new UTF8Encoding(false));
                writer.Write(text);
            }
            var overrides = $"<Override PartName=\"/{mainPath}\" ContentType=\"{mainType}\"/>" + (textPath.Length > 0 ? $"<Override PartName=\"/{textPath}\" ContentType=\"{textType}\"/>" : "");
            Entry("[Content_Types].xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">" +
                "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" ContentType=\"application/xml\"/>" + overrides + "</Types>");
            Entry("_rels/.rels", $"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"{Relationships}/officeDocument\" Target=\"{mainPath}\"/></Relationships>");
            if (textPath.Length > 0)
            {
                Entry(mainPath, mainXml);
                var folder = mainPath[..mainPath.LastIndexOf('/')];
                Entry($"{folder}/_rels/{mainPath[(folder.Length + 1)..]}.rels",
                    $"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"{Relationships}/{relType}\" Target=\"{textRelType}\"/></Relationships>");
            }
            var part = zip.CreateEntry(textPath.Length > 0 ? textPath : mainPath, CompressionLevel.SmallestSize);
            using var output = new BufferedStream(part.Open(), 1 << 20);
            void Write(string text) => output.Write(Encoding.UTF8.GetBytes(text));
            Write("<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + before);
            for (var i = 0; i < nesting; i++) Write(kind == Office.Xlsx ? "<rPh>" : "<x>");
            Write($"<{textElement}>");
            var block = Encoding.ASCII.GetBytes(new string('a', 1 << 16));
            for (long left = textBytes; left > 0; left -= block.Length) output.Write(block, 0, (int)Math.Min(block.Length, left));
            Write($"</{textElement}>");
            for (var i = 0; i < nesting; i++) Write(kind == Office.Xlsx ? "</rPh>" : "</x>");
            Write(after);
        }
        var bytes = stream.ToArray();
        return lieAboutSize ? ClaimTinyEntries(bytes) : bytes;
    }

    /// <summary>Rewrites every entry's uncompressed size, in the local headers and the central directory, to 1,000 bytes.</summary>
    private static byte[] ClaimTinyEntries(byte[] zip)
    {
        for (var i = 0; i + 30 < zip.Length; i++)
        {
            var signature = BitConverter.ToUInt32(zip, i);
            if (signature == 0x04034b50) BitConverter.TryWriteBytes(zip.AsSpan(i + 22, 4), 1000u); // local file header
            else if (signature == 0x02014b50) BitConverter.TryWriteBytes(zip.AsSpan(i + 24, 4), 1000u); // central directory
        }
        return zip;
    }

    /// <summary>A one-page PDF whose content stream (Flate, as PDFs compress them) expands to <paramref name="contentBytes"/>.</summary>
    public static byte[] PdfBomb(long contentBytes)
    {
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var block = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("0 0 m\n", 10_000)));
            for (long left = contentBytes; left > 0; left -= block.Length) zlib.Write(block, 0, (int)Math.Min(block.Length, left));
        }
        var pdf = new MemoryStream();
        var offsets = new List<long>();
        void Write(string text) => pdf.Write(Encoding.ASCII.GetBytes(text));
        Write("%PDF-1.4\n");
        foreach (var body in new[] { "<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>", "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << >> >>" })
        {
            offsets.Add(pdf.Position);
            Write($"{offsets.Count} 0 obj\n{body}\nendobj\n");
        }
        offsets.Add(pdf.Position);
        Write($"4 0 obj\n<< /Length {compressed.Length} /Filter /FlateDecode >>\nstream\n");
        compressed.Position = 0;
        compressed.CopyTo(pdf);
        Write("\nendstream\nendobj\n");
        var xref = pdf.Position;
        Write("xref\n0 5\n0000000000 65535 f \n" + string.Concat(offsets.Select(o => $"{o:D10} 00000 n \n")) + $"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n");
        return pdf.ToArray();
    }
}
