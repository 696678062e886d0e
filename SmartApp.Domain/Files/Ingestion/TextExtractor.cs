using System.Text;
using AngleSharp.Html.Parser;
using DocumentFormat.OpenXml.Packaging;
using UglyToad.PdfPig;
using UglyToad.PdfPig.DocumentLayoutAnalysis.TextExtractor;
using S = DocumentFormat.OpenXml.Spreadsheet;

namespace SmartApp.Domain.Files.Ingestion;

/// <summary>Text of one page (PDF page, slide, sheet), or of a whole document that has no pages (Page null).</summary>
public sealed record ExtractedPage(int? Page, string Text);

/// <summary>
/// Reads the text out of each supported format, keeping pages where the format has them, within an
/// <see cref="ExtractionBudget"/>: Office parts are streamed (never loaded whole), PDF streams are
/// inflated only when their size is within bounds, text and markup are read only up to their bound and
/// markup's nesting is measured before it is parsed.
/// </summary>
public static class TextExtractor
{
    private static readonly HashSet<string> RunText = new(StringComparer.Ordinal) { "t" };
    private static readonly HashSet<string> CellText = new(StringComparer.Ordinal) { "t", "v" };

    /// <param name="content">A seekable stream of the file's bytes.</param>
    public static IReadOnlyList<ExtractedPage> Extract(Stream content, FileFormat format, ExtractionBudget budget) => format switch
    {
        FileFormat.Pdf => Pdf(content, budget),
        FileFormat.Word => Word(content, budget),
        FileFormat.PowerPoint => PowerPoint(content, budget),
        FileFormat.Excel => Excel(content, budget),
        FileFormat.Html => [new(null, Html(Markup(content, budget), budget))],
        FileFormat.Markdown => [new(null, Markdown(Markup(content, budget), budget))],
        FileFormat.PlainText => [new(null, PlainText(content, budget))],
        _ => throw new NotSupportedException($"No text extraction for {format}."),
    };

    private static List<ExtractedPage> Pdf(Stream content, ExtractionBudget budget)
    {
        using var pdf = PdfDocument.Open(content, new ParsingOptions
        {
            FilterProvider = new BoundedPdfFilters(budget), MaxStackDepth = budget.Limits.MaxNestingDepth, SkipMissingFonts = true,
        });
        if (pdf.NumberOfPages > budget.Limits.MaxPdfPages)
            throw new ExtractionLimitException($"The PDF has {pdf.NumberOfPages} pages; at most {budget.Limits.MaxPdfPages} are read from one file.");
        var pages = new List<ExtractedPage>();
        for (var number = 1; number <= pdf.NumberOfPages; number++)
        {
            budget.Check();
            var text = ContentOrderTextExtractor.GetText(pdf.GetPage(number));
            budget.AddCharacters(text.Length);
            pages.Add(new ExtractedPage(number, text));
        }
        return pages;
    }

    private static List<ExtractedPage> Word(Stream content, ExtractionBudget budget)
    {
        OfficeParts.CheckDirectory(content, budget);
        using var document = WordprocessingDocument.Open(content, isEditable: false, Settings(budget));
        if (document.MainDocumentPart is not { } main) return [new ExtractedPage(null, "")];
        return [new ExtractedPage(null, Paragraphs(main.GetStream(), budget, lineBreaks: true))];
    }

    private static List<ExtractedPage> PowerPoint(Stream content, ExtractionBudget budget)
    {
        OfficeParts.CheckDirectory(content, budget);
        using var presentation = PresentationDocument.Open(content, isEditable: false, Settings(budget));
        var part = presentation.PresentationPart;
        var slideIds = part?.Presentation?.SlideIdList?.Elements<DocumentFormat.OpenXml.Presentation.SlideId>() ?? [];
        var pages = new List<ExtractedPage>();
        var number = 0;
        foreach (var slideId in slideIds)
        {
            budget.Check();
            number++;
            if (slideId.RelationshipId?.Value is not { } relationship || part!.GetPartById(relationship) is not SlidePart slide) continue;
            pages.Add(new ExtractedPage(number, Paragraphs(slide.GetStream(), budget, lineBreaks: false)));
        }
        return pages;
    }

    /// <summary>Word and slide text: runs' text, a line per paragraph (tabs and breaks kept in Word).</summary>
    private static string Paragraphs(Stream part, ExtractionBudget budget, bool lineBreaks)
    {
        var text = new StringBuilder();
        foreach (var step in OfficeParts.Read(part, budget, RunText))
        {
            switch (step.Kind)
            {
                case OfficeParts.Kind.Text: text.Append(step.Text); break;
                case OfficeParts.Kind.End when step.Name == "p": text.Append('\n'); break;
                case OfficeParts.Kind.Start when lineBreaks && step.Name == "tab": text.Append('\t'); break;
                case OfficeParts.Kind.Start when lineBreaks && step.Name is "br" or "cr": text.Append('\n'); break;
            }
        }
        return text.ToString().TrimEnd('\n');
    }

    private static List<ExtractedPage> Excel(Stream content, ExtractionBudget budget)
    {
        OfficeParts.CheckDirectory(content, budget);
        using var spreadsheet = SpreadsheetDocument.Open(content, isEditable: false, Settings(budget));
        var workbook = spreadsheet.WorkbookPart;
        var shared = workbook?.SharedStringTablePart is { } table ? SharedStrings(table.GetStream(), budget) : [];
        var pages = new List<ExtractedPage>();
        var number = 0;
        foreach (var sheet in workbook?.Workbook?.Sheets?.Elements<S.Sheet>() ?? [])
        {
            budget.Check();
            number++;
            if (sheet.Id?.Value is not { } id || workbook!.GetPartById(id) is not WorksheetPart worksheet) continue;
            var text = new StringBuilder().Append(sheet.Name?.Value).Append('\n');
            var firstCell = true;
            string? cellType = null;
            string? value = null;
            foreach (var step in OfficeParts.Read(worksheet.GetStream(), budget, CellText))
            {
                switch (step.Kind)
                {
                    case OfficeParts.Kind.Start when step.Name == "c":
                        cellType = step.Reader.GetAttribute("t");
                        value = null;
                        break;
                    case OfficeParts.Kind.Text:
                        value = step.Text;
                        break;
                    case OfficeParts.Kind.End when step.Name == "c":
                        if (!firstCell) text.Append('\t');
                        firstCell = false;
                        var cell = cellType == "s" && int.TryParse(value, out var index) && index >= 0 && index < shared.Count ? shared[index] : value ?? "";
                        if (cellType == "s") budget.AddCharacters(cell.Length); // shared text counts each time it is used
                        text.Append(cell);
                        break;
                    case OfficeParts.Kind.End when step.Name == "row":
                        text.Append('\n');
                        firstCell = true;
                        break;
                }
            }
            pages.Add(new ExtractedPage(number, text.ToString()));
        }
        return pages;
    }

    private static List<string> SharedStrings(Stream part, ExtractionBudget budget)
    {
        var strings = new List<string>();
        var current = new StringBuilder();
        foreach (var step in OfficeParts.Read(part, budget, RunText))
        {
            if (step.Kind == OfficeParts.Kind.Start && step.Name == "si") current.Clear();
            else if (step.Kind == OfficeParts.Kind.Text) current.Append(step.Text);
            else if (step.Kind == OfficeParts.Kind.End && step.Name == "si") strings.Add(current.ToString());
        }
        return strings;
    }

    /// <summary>The package-level parts the SDK reads as a whole (workbook, presentation) are bounded too.</summary>
    private static OpenSettings Settings(ExtractionBudget budget) => new() { MaxCharactersInPart = budget.Limits.MaxMarkupCharacters };

    /// <summary>The visible text of an HTML page, one line per block; scripts and styles left out. Nesting is measured first.</summary>
    private static string Html(string html, ExtractionBudget budget)
    {
        budget.CheckDepth(MarkupDepth.Html(html, budget.Limits.MaxNestingDepth));
        budget.Check();
        using var document = new HtmlParser().ParseDocument(html);
        foreach (var hidden in document.QuerySelectorAll("script, style, noscript, template").ToList()) hidden.Remove();
        foreach (var block in document.QuerySelectorAll("p, div, li, h1, h2, h3, h4, h5, h6, tr, br, section, article, title"))
            block.Append(document.CreateTextNode("\n"));
        var text = (document.Title is { Length: > 0 } title && document.Body?.TextContent.Contains(title, StringComparison.Ordinal) != true ? title + "\n" : "")
            + (document.Body?.TextContent ?? "");
        var lines = string.Join('\n', text.Split('\n').Select(line => string.Join(' ', line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))).Where(line => line.Length > 0));
        budget.AddCharacters(lines.Length);
        return lines;
    }

    private static string Markdown(string markdown, ExtractionBudget budget)
    {
        budget.CheckDepth(MarkupDepth.Markdown(markdown, budget.Limits.MaxNestingDepth));
        budget.Check();
        var text = Markdig.Markdown.ToPlainText(markdown);
        budget.AddCharacters(text.Length);
        return text;
    }

    /// <summary>Plain text, CSV and JSON (read as text, never parsed): at most the character bound.</summary>
    private static string PlainText(Stream content, ExtractionBudget budget)
    {
        var text = ReadAtMost(content, budget.Limits.MaxCharacters, budget);
        budget.AddCharacters(text.Length);
        return text;
    }

    /// <summary>HTML and Markdown source, up to the markup bound (the parsers hold all of it at once).</summary>
    private static string Markup(Stream content, ExtractionBudget budget) => ReadAtMost(content, budget.Limits.MaxMarkupCharacters, budget);

    private static string ReadAtMost(Stream content, long maxCharacters, ExtractionBudget budget)
    {
        using var reader = new StreamReader(content, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, leaveOpen: true);
        var text = new StringBuilder();
        var buffer = new char[64 * 1024];
        int read;
        while ((read = reader.Read(buffer)) > 0)
        {
            budget.Check();
            if (text.Length + read > maxCharacters)
                throw new ExtractionLimitException($"The document has more than {maxCharacters:N0} characters; at most that many are read from one file of this type.");
            text.Append(buffer, 0, read);
        }
        return text.ToString();
    }
}
