using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Files;
using SmartApp.Domain.Files.Ingestion;
using SmartApp.Tests.EndToEnd;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class ChunkerTests
{
    private static readonly string Text = string.Join(" ", Enumerable.Range(1, 60).Select(i => $"Sentence number {i} says something about topic {i % 7}."));

    [Fact]
    public void Chunks_end_on_sentence_boundaries_overlap_their_neighbours_and_point_at_their_text()
    {
        var chunks = Chunker.Split([new ExtractedPage(3, Text)], 1000);
        Assert.True(chunks.Count >= 3);
        foreach (var chunk in chunks)
        {
            Assert.Equal(3, chunk.Page);
            Assert.Equal(Text[chunk.Start..chunk.End], chunk.Text); // offsets locate the passage in the page's text
            Assert.InRange(chunk.Text.Length, 1, 1000);
            Assert.EndsWith(".", chunk.Text);
        }
        for (var i = 1; i < chunks.Count; i++)
        {
            Assert.True(chunks[i].Start < chunks[i - 1].End, "neighbours overlap");
            Assert.True(chunks[i].Start > chunks[i - 1].Start, "and move forward");
        }
        Assert.Equal(Text.Length, chunks[^1].End);
    }

    [Fact]
    public void A_text_without_sentence_ends_is_cut_at_spaces_and_an_empty_page_gives_nothing()
    {
        var words = string.Join(' ', Enumerable.Repeat("lorem", 500));
        var chunks = Chunker.Split([new ExtractedPage(null, words), new ExtractedPage(2, "   \n ")], 300);
        Assert.All(chunks, c => Assert.DoesNotContain("lore ", c.Text + " ")); // never a split word
        Assert.All(chunks, c => Assert.Null(c.Page));
        Assert.All(chunks, c => Assert.InRange(c.Text.Length, 1, 300));
    }
}

[Trait("Category", "Unit")]
public sealed class FileInputTests
{
    [Theory]
    [InlineData("report.pdf", "report.pdf")]
    [InlineData("caf%C3%A9%20menu.txt", "café menu.txt")]
    [InlineData("  spaced.md ", "spaced.md")]
    [InlineData("100%ZZ.txt", "100%ZZ.txt")]
    public void Good_names_are_kept_as_given(string given, string expected) => Assert.Equal(expected, FileNames.Check(given));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("../x")]
    [InlineData("a/b.txt")]
    [InlineData("a\\b.txt")]
    [InlineData("..")]
    [InlineData("%2e%2e%2fx")]
    [InlineData("tab\there")]
    public void Hostile_or_missing_names_are_refused_naming_the_field(string? given) =>
        Assert.Equal("name", Assert.Throws<ValidationFailedException>(() => FileNames.Check(given)).Errors.Keys.Single());

    [Fact]
    public void Names_over_255_bytes_are_refused_even_when_under_255_characters() =>
        Assert.Throws<ValidationFailedException>(() => FileNames.Check(new string('é', 130)));

    [Theory]
    [InlineData("x.pdf", "application/pdf", FileFormat.Pdf)]
    [InlineData("x.bin", "text/markdown; charset=utf-8", FileFormat.Markdown)]
    [InlineData("notes.md", "application/octet-stream", FileFormat.Markdown)]
    [InlineData("sheet.xlsx", "", FileFormat.Excel)]
    [InlineData("photo.png", "image/png", FileFormat.Unsupported)]
    public void The_format_comes_from_the_type_then_the_extension(string name, string contentType, FileFormat expected) =>
        Assert.Equal(expected, FileFormats.Declared(name, contentType));

    [Fact]
    public void A_pdf_or_office_type_must_match_the_first_bytes()
    {
        Assert.True(FileFormats.HeadMatches(FileFormat.Pdf, "%PDF-1.7"u8));
        Assert.False(FileFormats.HeadMatches(FileFormat.Pdf, "<html>"u8));
        Assert.True(FileFormats.HeadMatches(FileFormat.Word, TestDocuments.Docx("x").AsSpan(0, 8)));
        Assert.False(FileFormats.HeadMatches(FileFormat.Excel, "%PDF-1.7"u8));
        Assert.True(FileFormats.HeadMatches(FileFormat.PlainText, [0xFF, 0x00]));
    }

    private static ExtractionBudget Budget() => new(ExtractionLimits.From(new FilesOptions()), default);

    [Fact]
    public void Pdf_text_is_read_per_page_and_docx_as_one_document()
    {
        var pdf = TextExtractor.Extract(new MemoryStream(TestDocuments.Pdf(["first page"], ["second page text"])), FileFormat.Pdf, Budget());
        Assert.Equal([1, 2], pdf.Select(p => p.Page!.Value));
        Assert.Contains("second page text", pdf[1].Text);
        var docx = Assert.Single(TextExtractor.Extract(new MemoryStream(TestDocuments.Docx("One.", "Two.")), FileFormat.Word, Budget()));
        Assert.Null(docx.Page);
        Assert.Equal("One.\nTwo.", docx.Text);
    }

    [Fact]
    public void Each_sheet_of_a_workbook_is_a_page_with_its_name_and_rows()
    {
        var xlsx = TestDocuments.Xlsx(("Prices", [["item", "price"], ["tea", "3.50"]]), ("Stock", [["tea", "12 boxes"]]));
        var pages = TextExtractor.Extract(new MemoryStream(xlsx), FileFormat.Excel, Budget());
        Assert.Equal([1, 2], pages.Select(p => p.Page!.Value));
        Assert.Equal("Prices\nitem\tprice\ntea\t3.50\n", pages[0].Text);
        Assert.Contains("12 boxes", pages[1].Text);
    }

    [Fact]
    public void Html_keeps_visible_text_and_drops_scripts_and_markdown_loses_its_markup()
    {
        var html = TextExtractor.Extract(new MemoryStream(TestDocuments.Utf8("<html><head><title>T</title><style>p{}</style></head><body><p>Hello <b>there</b></p><script>alert(1)</script><ul><li>one</li><li>two</li></ul></body></html>")), FileFormat.Html, Budget());
        Assert.Equal("T\nHello there\none\ntwo", Assert.Single(html).Text);
        var markdown = TextExtractor.Extract(new MemoryStream(TestDocuments.Utf8("# Title\n\nSome **bold** [link](http://x)")), FileFormat.Markdown, Budget());
        Assert.DoesNotContain("**", markdown[0].Text);
        Assert.Contains("Some bold link", markdown[0].Text);
    }
}
