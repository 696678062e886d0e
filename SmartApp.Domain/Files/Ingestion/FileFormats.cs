namespace SmartApp.Domain.Files.Ingestion;

/// <summary>The kinds of document ingestion reads.</summary>
public enum FileFormat
{
    Unsupported,
    Pdf,
    Word,
    PowerPoint,
    Excel,
    Html,
    Markdown,
    PlainText,
}

/// <summary>
/// Tells what a file is from its declared type and name, checked against its first bytes where a
/// lie would matter: a "PDF" must start with <c>%PDF-</c>, an Office document must be a ZIP.
/// </summary>
public static class FileFormats
{
    private static readonly Dictionary<string, FileFormat> ByContentType = new(StringComparer.OrdinalIgnoreCase)
    {
        ["application/pdf"] = FileFormat.Pdf,
        ["application/vnd.openxmlformats-officedocument.wordprocessingml.document"] = FileFormat.Word,
        ["application/vnd.openxmlformats-officedocument.presentationml.presentation"] = FileFormat.PowerPoint,
        ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"] = FileFormat.Excel,
        ["text/html"] = FileFormat.Html,
        ["application/xhtml+xml"] = FileFormat.Html,
        ["text/markdown"] = FileFormat.Markdown,
        ["text/x-markdown"] = FileFormat.Markdown,
        ["text/plain"] = FileFormat.PlainText,
        ["text/csv"] = FileFormat.PlainText,
        ["application/json"] = FileFormat.PlainText,
    };

    private static readonly Dictionary<string, FileFormat> ByExtension = new(StringComparer.OrdinalIgnoreCase)
    {
        [".pdf"] = FileFormat.Pdf,
        [".docx"] = FileFormat.Word,
        [".pptx"] = FileFormat.PowerPoint,
        [".xlsx"] = FileFormat.Excel,
        [".html"] = FileFormat.Html,
        [".htm"] = FileFormat.Html,
        [".md"] = FileFormat.Markdown,
        [".markdown"] = FileFormat.Markdown,
        [".txt"] = FileFormat.PlainText,
        [".csv"] = FileFormat.PlainText,
        [".json"] = FileFormat.PlainText,
    };

    /// <summary>The declared format: the content type's when it names one, else the name's extension's.</summary>
    public static FileFormat Declared(string name, string contentType)
    {
        var mediaType = contentType.Split(';')[0].Trim();
        if (ByContentType.TryGetValue(mediaType, out var format)) return format;
        return ByExtension.TryGetValue(Path.GetExtension(name), out format) ? format : FileFormat.Unsupported;
    }

    /// <summary>Whether the first bytes can be a file of that format (text formats accept anything).</summary>
    public static bool HeadMatches(FileFormat format, ReadOnlySpan<byte> head) => format switch
    {
        FileFormat.Pdf => head.StartsWith("%PDF-"u8),
        FileFormat.Word or FileFormat.PowerPoint or FileFormat.Excel => head.StartsWith("PK\x03\x04"u8),
        _ => true,
    };
}
