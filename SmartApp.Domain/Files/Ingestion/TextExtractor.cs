using System.Text;
using AngleSharp.Html.Parser;
using DocumentFormat.OpenXml.Packaging;
using UglyToad.PdfPig;
using UglyToad.PdfPig.DocumentLayoutAnalysis.TextExtractor;
using A = DocumentFormat.OpenXml.Drawing;
using S = DocumentFormat.OpenXml.Spreadsheet;
using W = DocumentFormat.OpenXml.Wordprocessing;

namespace SmartApp.Domain.Files.Ingestion;

/// <summary>Text of one page (PDF page, slide, sheet), or of a whole document that has no pages (Page null).</summary>
public sealed record ExtractedPage(int? Page, string Text);

/// <summary>Reads the text out of each supported format, keeping pages where the format has them.</summary>
public static class TextExtractor
{
    /// <param name="content">A seekable stream of the file's bytes.</param>
    public static IReadOnlyList<ExtractedPage> Extract(Stream content, FileFormat format, CancellationToken cancellationToken) => format switch
    {
        FileFormat.Pdf => Pdf(content, cancellationToken),
        FileFormat.Word => Word(content),
        FileFormat.PowerPoint => PowerPoint(content, cancellationToken),
        FileFormat.Excel => Excel(content, cancellationToken),
        FileFormat.Html => [new(null, Html(ReadText(content)))],
        FileFormat.Markdown => [new(null, Markdig.Markdown.ToPlainText(ReadText(content)))],
        FileFormat.PlainText => [new(null, ReadText(content))],
        _ => throw new NotSupportedException($"No text extraction for {format}."),
    };

    private static List<ExtractedPage> Pdf(Stream content, CancellationToken cancellationToken)
    {
        using var pdf = PdfDocument.Open(content);
        var pages = new List<ExtractedPage>();
        foreach (var page in pdf.GetPages())
        {
            cancellationToken.ThrowIfCancellationRequested();
            pages.Add(new ExtractedPage(page.Number, ContentOrderTextExtractor.GetText(page)));
        }
        return pages;
    }

    private static List<ExtractedPage> Word(Stream content)
    {
        using var document = WordprocessingDocument.Open(content, isEditable: false);
        var body = document.MainDocumentPart?.Document?.Body;
        var text = body is null ? "" : string.Join('\n', body.Descendants<W.Paragraph>().Select(p => p.InnerText));
        return [new ExtractedPage(null, text)];
    }

    private static List<ExtractedPage> PowerPoint(Stream content, CancellationToken cancellationToken)
    {
        using var presentation = PresentationDocument.Open(content, isEditable: false);
        var part = presentation.PresentationPart;
        var slideIds = part?.Presentation?.SlideIdList?.Elements<DocumentFormat.OpenXml.Presentation.SlideId>() ?? [];
        var pages = new List<ExtractedPage>();
        var number = 0;
        foreach (var slideId in slideIds)
        {
            cancellationToken.ThrowIfCancellationRequested();
            number++;
            if (slideId.RelationshipId?.Value is not { } relationship || part!.GetPartById(relationship) is not SlidePart slide) continue;
            var paragraphs = slide.Slide?.Descendants<A.Paragraph>().Select(p => string.Concat(p.Descendants<A.Text>().Select(t => t.Text))) ?? [];
            pages.Add(new ExtractedPage(number, string.Join('\n', paragraphs)));
        }
        return pages;
    }

    private static List<ExtractedPage> Excel(Stream content, CancellationToken cancellationToken)
    {
        using var spreadsheet = SpreadsheetDocument.Open(content, isEditable: false);
        var workbook = spreadsheet.WorkbookPart;
        var shared = workbook?.SharedStringTablePart?.SharedStringTable?.Elements<S.SharedStringItem>().Select(s => s.InnerText).ToList() ?? [];
        var pages = new List<ExtractedPage>();
        var number = 0;
        foreach (var sheet in workbook?.Workbook?.Sheets?.Elements<S.Sheet>() ?? [])
        {
            cancellationToken.ThrowIfCancellationRequested();
            number++;
            if (sheet.Id?.Value is not { } id || workbook!.GetPartById(id) is not WorksheetPart worksheet) continue;
            var text = new StringBuilder();
            text.Append(sheet.Name?.Value).Append('\n');
            foreach (var row in worksheet.Worksheet?.Descendants<S.Row>() ?? [])
                text.AppendJoin('\t', row.Elements<S.Cell>().Select(c => CellText(c, shared))).Append('\n');
            pages.Add(new ExtractedPage(number, text.ToString()));
        }
        return pages;
    }

    private static string CellText(S.Cell cell, List<string> shared)
    {
        var value = cell.CellValue?.Text ?? cell.InnerText;
        return cell.DataType?.Value == S.CellValues.SharedString && int.TryParse(value, out var index) && index < shared.Count ? shared[index] : value;
    }

    /// <summary>The visible text of an HTML page, one line per block; scripts and styles left out.</summary>
    private static string Html(string html)
    {
        using var document = new HtmlParser().ParseDocument(html);
        foreach (var hidden in document.QuerySelectorAll("script, style, noscript, template").ToList()) hidden.Remove();
        foreach (var block in document.QuerySelectorAll("p, div, li, h1, h2, h3, h4, h5, h6, tr, br, section, article, title"))
            block.Append(document.CreateTextNode("\n"));
        var text = (document.Title is { Length: > 0 } title && document.Body?.TextContent.Contains(title, StringComparison.Ordinal) != true ? title + "\n" : "")
            + (document.Body?.TextContent ?? "");
        return string.Join('\n', text.Split('\n').Select(line => string.Join(' ', line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))).Where(line => line.Length > 0));
    }

    private static string ReadText(Stream content)
    {
        using var reader = new StreamReader(content, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, leaveOpen: true);
        return reader.ReadToEnd();
    }
}
