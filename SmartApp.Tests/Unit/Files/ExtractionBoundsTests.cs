using System.Text;
using SmartApp.Domain.Files;
using SmartApp.Domain.Files.Ingestion;
using SmartApp.Tests.EndToEnd;
using static SmartApp.Fakes.HostileDocuments;
using static SmartApp.Tests.EndToEnd.TestDocuments;

namespace SmartApp.Tests.Unit;

/// <summary>
/// Hostile documents against the extraction bounds, in process: each is refused with a reason a user
/// understands, quickly, and without the memory its payload would take.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ExtractionBoundsTests
{
    private static ExtractionBudget Budget(Action<FilesOptions>? configure = null)
    {
        var options = new FilesOptions();
        configure?.Invoke(options);
        return new ExtractionBudget(ExtractionLimits.From(options), default);
    }

    private static string Refusal(byte[] file, FileFormat format, Action<FilesOptions>? configure = null)
    {
        using var budget = Budget(configure);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var refusal = Assert.Throws<ExtractionLimitException>(() => TextExtractor.Extract(new MemoryStream(file), format, budget));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 128L * 1024 * 1024, $"reading the refused file allocated {allocated / (1024 * 1024)} MB");
        return refusal.Message;
    }

    [Theory]
    [InlineData(Office.Docx, FileFormat.Word)]
    [InlineData(Office.Xlsx, FileFormat.Excel)]
    [InlineData(Office.Pptx, FileFormat.PowerPoint)]
    public void An_office_zip_bomb_is_refused_from_its_directory_before_anything_is_decompressed(Office kind, FileFormat format)
    {
        var bomb = OfficeBomb(kind, 1L << 30);
        Assert.InRange(bomb.Length, 1, 4 * 1024 * 1024); // a few MB that claim a GB
        Assert.Contains("expands", Refusal(bomb, format));
    }

    [Theory]
    [InlineData(Office.Docx, FileFormat.Word)]
    [InlineData(Office.Xlsx, FileFormat.Excel)]
    [InlineData(Office.Pptx, FileFormat.PowerPoint)]
    public void An_office_bomb_that_lies_about_its_size_is_stopped_by_what_it_really_expands_to(Office kind, FileFormat format)
    {
        var bomb = OfficeBomb(kind, 200L * 1024 * 1024, lieAboutSize: true);
        using var budget = Budget(o => o.MaxExtractedCharacters = 5_000_000);
        var before = GC.GetAllocatedBytesForCurrentThread();
        // The runtime reads no more than the directory claims, so the part ends early and is refused as damaged
        // (the ingestor's "could not be read" failure); were it read further, the text bound would stop it.
        var refusal = Record.Exception(() => TextExtractor.Extract(new MemoryStream(bomb), format, budget));
        Assert.True(refusal is ExtractionLimitException or InvalidDataException or System.Xml.XmlException, $"unexpected: {refusal}");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 256L * 1024 * 1024);
    }

    [Fact]
    public void A_pdf_whose_content_stream_inflates_past_the_bound_is_refused_before_it_is_decoded()
    {
        var bomb = PdfBomb(512L * 1024 * 1024);
        Assert.InRange(bomb.Length, 1, 4 * 1024 * 1024);
        Assert.Contains("A stream in the PDF expands to more than 64 MB", Refusal(bomb, FileFormat.Pdf));
    }

    [Fact]
    public void A_pdf_with_more_pages_than_the_bound_is_refused()
    {
        var pdf = Pdf(Enumerable.Range(1, 6).Select(i => new[] { $"page {i}" }).ToArray());
        Assert.Contains("6 pages; at most 5", Refusal(pdf, FileFormat.Pdf, o => o.MaxPdfPages = 5));
    }

    [Theory]
    [InlineData(Office.Docx, FileFormat.Word)]
    [InlineData(Office.Xlsx, FileFormat.Excel)]
    [InlineData(Office.Pptx, FileFormat.PowerPoint)]
    public void Deeply_nested_xml_is_refused_at_the_depth_bound(Office kind, FileFormat format) =>
        Assert.Contains("nests elements more than 256 deep", Refusal(OfficeBomb(kind, 10, nesting: 50_000), format));

    [Fact]
    public void Deeply_nested_html_and_markdown_are_refused_before_they_are_parsed()
    {
        var html = "<html><body>" + string.Concat(Enumerable.Repeat("<div>", 200_000)) + "deep" + string.Concat(Enumerable.Repeat("</div>", 200_000)) + "</body></html>";
        Assert.Contains("nests elements more than 256 deep", Refusal(Utf8(html), FileFormat.Html));
        var markdown = new string('>', 200_000) + " deep quote\n" + new string('[', 100_000) + "link";
        Assert.Contains("nests elements more than 256 deep", Refusal(Utf8(markdown), FileFormat.Markdown));
    }

    [Fact]
    public void Text_past_the_character_bound_is_refused_with_the_bound_named()
    {
        var text = Encoding.UTF8.GetBytes(new string('x', 20_001));
        Assert.Contains("more than 20,000 characters", Refusal(text, FileFormat.PlainText, o => o.MaxExtractedCharacters = 20_000));
    }

    [Fact]
    public void Ordinary_documents_within_every_bound_are_read_in_full()
    {
        using var budget = Budget();
        Assert.Equal("One.\nTwo.", Assert.Single(TextExtractor.Extract(new MemoryStream(Docx("One.", "Two.")), FileFormat.Word, budget)).Text);
        var slides = TextExtractor.Extract(new MemoryStream(OfficeBomb(Office.Pptx, 50)), FileFormat.PowerPoint, budget);
        Assert.Equal(new string('a', 50), Assert.Single(slides).Text);
        var sheet = TextExtractor.Extract(new MemoryStream(OfficeBomb(Office.Xlsx, 30)), FileFormat.Excel, budget);
        Assert.Equal("S\n" + new string('a', 30) + "\n", Assert.Single(sheet).Text);
        var html = "<html><body>" + string.Concat(Enumerable.Repeat("<div>", 100)) + "nested fine" + string.Concat(Enumerable.Repeat("</div>", 100)) + "</body></html>";
        Assert.Equal("nested fine", Assert.Single(TextExtractor.Extract(new MemoryStream(Utf8(html)), FileFormat.Html, budget)).Text);
    }

    [Fact]
    public void A_spent_time_budget_stops_the_reader_with_the_reason()
    {
        using var budget = Budget(o => { o.ExtractionTimeout = TimeSpan.FromMilliseconds(1); o.MaxCompressionRatio = 100_000; });
        Assert.True(SpinWait.SpinUntil(() => budget.Token.IsCancellationRequested, TimeSpan.FromSeconds(5)), "the time budget never ran out");
        var refusal = Assert.Throws<ExtractionLimitException>(() => TextExtractor.Extract(new MemoryStream(OfficeBomb(Office.Docx, 50_000_000)), FileFormat.Word, budget));
        Assert.Contains("took longer than", refusal.Message);
    }
}
