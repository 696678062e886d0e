using SmartApp.Domain.Files;
using SmartApp.Domain.Files.Ingestion;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class PassageResultsTests
{
    private const string Manual = "Tighten the chain until it moves a centimetre. Oil it every month. Replace it after 3,000 km. "
        + "Check the brake pads for wear. Pads thinner than 1.5 mm must go. Align the pads with the rim.";

    /// <summary>The manual cut as ingestion cuts files: small passages, overlapping their neighbours.</summary>
    private static List<FileChunk> Passages(string fileId, string text) =>
        Chunker.Split([new ExtractedPage(null, text)], 40).Select((c, i) => new FileChunk($"{fileId}:{i}", fileId, i, c.Page, c.Start, c.End, c.Text)).ToList();

    private static FileSearchHit Hit(FileChunk chunk, double score) => new(chunk, chunk.FileId + ".txt", score);

    [Fact]
    public void Neighbouring_passages_of_a_file_become_one_stretch_of_its_text_in_the_better_ones_place()
    {
        var manual = Passages("manual", Manual);
        Assert.True(manual.Count >= 4);
        var other = Passages("other", "Espresso needs finely ground coffee and nine bars of pressure.");

        var arranged = PassageResults.Arrange([Hit(manual[1], 0.9), Hit(other[0], 0.8), Hit(manual[0], 0.7), Hit(manual[3], 0.6)], 10);

        Assert.Equal(["manual:1", "other:0", "manual:3"], arranged.Select(h => h.Chunk.Id));
        var joined = arranged[0].Chunk;
        Assert.Equal((0, manual[0].Start, manual[1].End, 0.9), (joined.Index, joined.Start, joined.End, arranged[0].Score));
        Assert.Equal(Manual[joined.Start..joined.End], joined.Text); // the page's own text, the overlap once
    }

    [Fact]
    public void One_file_takes_at_most_two_places_while_other_files_have_results_and_nothing_found_is_dropped()
    {
        var a = Passages("a", Manual);
        var b = Passages("b", Manual);
        // a's passages 0, 2 and 4 do not touch one another; b has one result, ranked last.
        var ranked = new[] { Hit(a[0], 0.9), Hit(a[2], 0.8), Hit(a[4], 0.7), Hit(b[0], 0.1) };

        Assert.Equal(["a:0", "a:2", "b:0", "a:4"], PassageResults.Arrange(ranked, 10).Select(h => h.Chunk.Id));
        Assert.Equal(["a:0", "a:2", "b:0"], PassageResults.Arrange(ranked, 3).Select(h => h.Chunk.Id));
        Assert.Equal(["a:0", "a:2", "a:4"], PassageResults.Arrange(ranked.Take(3), 10).Select(h => h.Chunk.Id)); // one file: all of it
    }
}
