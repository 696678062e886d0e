namespace SmartApp.Tests.EndToEnd;

/// <summary>
/// A dropped stream resumed on another worker (the Raindrop fixture runs two, and the dev host hands requests to them in turn):
/// two reconnects at once reach both workers, so one of them follows the reply from storage while the other generates it.
/// </summary>
[Collection(RaindropCollection.Name)]
public sealed class ResumeAcrossWorkersTests(RaindropDevHostFixture app)
{
    [Fact]
    public async Task Two_reconnects_at_once_on_both_workers_each_get_exactly_the_rest_of_the_reply()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("resume-workers"));
        var conversation = await ChatTests.StartAsync(user);
        app.Model.TokenDelay = TimeSpan.FromMilliseconds(40);
        try
        {
            var (replyId, received, lastId) = await ChatTests.DropMidReplyAsync(user, conversation, ChatTests.LongQuestion(), deltas: 3);
            var both = await Task.WhenAll(ChatTests.ResumeAsync(user, conversation, replyId, lastId), ChatTests.ResumeAsync(user, conversation, replyId, lastId));

            var stored = (await ChatTests.MessagesAsync(user, conversation))[1].GetProperty("content").GetString();
            Assert.EndsWith("wave40", stored);
            Assert.All(both, events =>
            {
                Assert.Equal("done", events[^1].Event);
                Assert.Equal(stored, received + ChatTests.TextOf(events)); // no gap, no repeat, on either worker
                Assert.Equal(stored!.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), events[^1].Id);
            });
        }
        finally
        {
            app.Model.TokenDelay = TimeSpan.FromMilliseconds(2);
        }
    }
}
