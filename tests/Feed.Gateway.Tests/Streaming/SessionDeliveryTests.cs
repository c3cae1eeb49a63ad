using System.Text.Json;
using MarketStream.Contracts;
using static MarketStream.Gateway.Tests.Streaming.SessionRequestTests;

namespace MarketStream.Gateway.Tests.Streaming;

/// <summary>PROTOCOL.md section 2, throttle, drop policy and liveness: what reaches a client, and when, on a fake clock.</summary>
public class SessionDeliveryTests
{
    private static readonly string[] Watchlist = ["S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7"];

    [Fact]
    public async Task Updates_are_sent_at_most_once_per_throttle_interval_carrying_the_latest_quote()
    {
        await using var h = new SessionHarness();
        var c = await SubscribedAsync(h, 100, DeliveryPolicy.Conflate, "AAPL");

        var start = h.Elapsed;
        h.Publish("AAPL", 100m);
        var first = await c.ExpectAsync("updates");
        Assert.Equal(start, first.At);

        Quote latest = null!;
        for (var i = 1; i <= 9; i++)
        {
            h.Advance(10);
            latest = h.Publish("AAPL", 100m + i);
        }

        // t = 90: replies still flow, updates wait for the throttle.
        Assert.DoesNotContain(await c.SyncAsync(), m => m.Type == "updates");
        h.Advance(10);
        await h.AdvanceUntilAsync(() => c.UpdateFrames().Count == 2, 99, "the second updates frame");

        var second = c.UpdateFrames()[1];
        Assert.True(second.At - first.At >= TimeSpan.FromMilliseconds(100), c.Describe());
        var quote = Assert.Single(second["quotes"].EnumerateArray());
        Assert.Equal(latest.Seq, quote.GetProperty("seq").GetInt64());
        Assert.Equal("109", quote.GetProperty("bid").GetRawText());
        Assert.Equal(8, quote.GetProperty("conflated").GetInt32());

        // Every updates frame so far respected the interval.
        var frames = c.UpdateFrames();
        for (var i = 1; i < frames.Count; i++)
        {
            Assert.True(frames[i].At - frames[i - 1].At >= TimeSpan.FromMilliseconds(100), c.Describe());
        }
    }

    [Fact]
    public async Task With_throttle_0_each_quote_is_sent_as_soon_as_the_previous_send_completed()
    {
        await using var h = new SessionHarness();
        var c = await SubscribedAsync(h, 0, DeliveryPolicy.Conflate, "AAPL");

        for (var i = 0; i < 5; i++)
        {
            var published = h.Publish("AAPL", 100m + i);
            var quote = Assert.Single((await c.ExpectAsync("updates"))["quotes"].EnumerateArray());
            Assert.Equal(published.Seq, quote.GetProperty("seq").GetInt64());
            Assert.False(quote.TryGetProperty("conflated", out _));
        }

        // No fake time passed at all.
        Assert.All(c.UpdateFrames(), f => Assert.Equal(TimeSpan.Zero, f.At));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    public async Task While_a_send_is_held_quotes_merge_and_go_out_together_once_it_is_released(int throttleMs)
    {
        await using var h = new SessionHarness();
        var c = await SubscribedAsync(h, throttleMs, DeliveryPolicy.Conflate, "AAPL", "MSFT");

        c.Transport.Hold();
        h.Publish("AAPL", 1m);
        await Eventually.Holds(() => c.Transport.SendInFlight, "the first updates frame to be in flight");
        h.Advance(throttleMs + 50);
        h.Publish("AAPL", 2m);
        h.Publish("MSFT", 10m);
        var aapl = h.Publish("AAPL", 3m);
        var aaplLast = h.Publish("AAPL", 4m);
        Assert.Equal(2, c.Session.PendingCount);
        Assert.Single(c.UpdateFrames());

        c.Transport.Release();
        await c.ExpectAsync("updates");
        var quotes = (await c.ExpectAsync("updates"))["quotes"].EnumerateArray().ToList();
        Assert.Equal(["AAPL", "MSFT"], quotes.Select(q => q.GetProperty("symbol").GetString()));
        Assert.Equal(aaplLast.Seq, quotes[0].GetProperty("seq").GetInt64());
        Assert.Equal(2, quotes[0].GetProperty("conflated").GetInt32());
        Assert.False(quotes[1].TryGetProperty("conflated", out _));
        Assert.True(aapl.Seq < aaplLast.Seq);
    }

    [Fact]
    public async Task A_burst_during_a_held_send_is_conflated_and_every_tick_is_accounted_for()
    {
        await using var h = new SessionHarness();
        var c = await SubscribedAsync(h, 0, DeliveryPolicy.Conflate, "AAPL");
        var random = new Random(20260302);
        const int Burst = 2_000;

        c.Transport.Hold();
        Quote last = null!;
        for (var i = 0; i < Burst; i++)
        {
            last = h.Publish("AAPL", 100m + (i / 100m));
            if (random.Next(100) == 0)
            {
                // The client reads one frame now and then.
                c.Transport.ReleaseOne();
            }
        }

        c.Transport.Release();
        await c.WaitForSeqAsync("AAPL", last.Seq);
        await c.SyncAsync();

        var frames = c.UpdateFrames();
        var quotes = c.UpdateQuotes();
        Assert.True(frames.Count < Burst / 10, $"{frames.Count} frames for {Burst} ticks");
        Assert.Equal(last.Seq, quotes[^1].GetProperty("seq").GetInt64());
        Assert.Equal(last.Bid!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), quotes[^1].GetProperty("bid").GetRawText());
        Assert.Equal(Burst, quotes.Count + quotes.Sum(q => Count(q, "conflated")));
        Assert.Equal(quotes.Sum(q => Count(q, "conflated")), h.Stats.QuotesConflated);
        AssertStrictlyIncreasing([.. quotes.Select(q => q.GetProperty("seq").GetInt64())]);
    }

    [Theory]
    [InlineData(DeliveryPolicy.Conflate)]
    [InlineData(DeliveryPolicy.DropOldest)]
    [InlineData(DeliveryPolicy.DropNewest)]
    public async Task What_waits_for_a_client_that_stops_reading_is_bounded_and_every_tick_is_accounted_for(DeliveryPolicy policy)
    {
        await using var h = new SessionHarness(o => o.QueueCapacity = 16);
        var c = await SubscribedAsync(h, 0, policy, Watchlist);
        var bound = policy == DeliveryPolicy.Conflate ? Watchlist.Length : h.Options.QueueCapacity;
        const int Offered = 5_000;
        var offered = new Dictionary<string, int>(StringComparer.Ordinal);
        var latest = new Dictionary<string, long>(StringComparer.Ordinal);

        c.Transport.Hold();
        Quote last = null!;
        var most = 0;
        for (var i = 0; i < Offered; i++)
        {
            var symbol = Watchlist[i % Watchlist.Length];
            last = h.Publish(symbol, 1m + i);
            offered[symbol] = offered.GetValueOrDefault(symbol) + 1;
            latest[symbol] = last.Seq;
            if (i == 0)
            {
                await Eventually.Holds(() => c.Transport.SendInFlight, "the first updates frame to be in flight");
            }

            most = Math.Max(most, c.Session.PendingCount);
        }

        Assert.Equal(bound, most);
        Assert.Null(c.Session.CloseCode);

        c.Transport.Release();
        await c.WaitForSeqAsync(last.Symbol, last.Seq);
        await c.SyncAsync();
        Assert.Equal(0, c.Session.PendingCount);

        var quotes = c.UpdateQuotes();
        foreach (var symbol in Watchlist)
        {
            var mine = quotes.Where(q => q.GetProperty("symbol").GetString() == symbol).ToList();
            var accounted = mine.Count + mine.Sum(q => Count(q, "conflated")) + mine.Sum(q => Count(q, "dropped"));
            Assert.True(offered[symbol] == accounted, $"{symbol}: {offered[symbol]} offered, {mine.Count} delivered, {mine.Sum(q => Count(q, "conflated"))} conflated, {mine.Sum(q => Count(q, "dropped"))} dropped");
            AssertStrictlyIncreasing([.. mine.Select(q => q.GetProperty("seq").GetInt64())]);
            if (policy != DeliveryPolicy.DropNewest)
            {
                // Conflate and drop-oldest keep the newest state of every symbol.
                Assert.Equal(latest[symbol], mine[^1].GetProperty("seq").GetInt64());
            }
        }

        Assert.DoesNotContain(quotes, q => policy == DeliveryPolicy.Conflate ? q.TryGetProperty("dropped", out _) : q.TryGetProperty("conflated", out _));
    }

    [Fact]
    public async Task Under_disconnect_an_overflowing_queue_closes_the_connection_with_4001()
    {
        await using var h = new SessionHarness(o => o.QueueCapacity = 16);
        var c = await SubscribedAsync(h, 0, DeliveryPolicy.Disconnect, "AAPL");

        c.Transport.Hold();
        h.Publish("AAPL", 1m);
        await Eventually.Holds(() => c.Transport.SendInFlight, "the first updates frame to be in flight");
        for (var i = 0; i < 16; i++)
        {
            h.Publish("AAPL", 2m + i);
        }

        Assert.Equal(16, c.Session.PendingCount);
        Assert.Null(c.Session.CloseCode);

        h.Publish("AAPL", 100m);
        Assert.Equal(4001, c.Session.CloseCode);
        Assert.True(c.Session.PendingCount <= 16);

        c.Transport.Release();
        await c.Transport.Closed.WaitAsync(SessionHarness.Timeout);
        await c.Run.WaitAsync(SessionHarness.Timeout);
        Assert.Equal(4001, c.Transport.CloseCode);
        Assert.Single(c.UpdateFrames());
    }

    [Fact]
    public async Task A_heartbeat_follows_heartbeatMs_of_silence_and_none_comes_before()
    {
        await using var h = new SessionHarness(o => o.HeartbeatMs = 1_000);
        var c = await h.ConnectAsync();
        var hello = c.Messages[0];

        h.Advance(999);
        await h.AdvanceUntilAsync(() => c.Messages.Count > 1, 100, "a heartbeat");
        var heartbeat = await c.ExpectAsync("heartbeat");
        Assert.True(heartbeat.At - hello.At >= TimeSpan.FromMilliseconds(1_000), c.Describe());
        Assert.Equal(ServerMessages.UnixMicros(h.Clock.Start + heartbeat.At), heartbeat["serverTime"].GetInt64());

        // And again after another second of silence.
        h.Advance(999);
        await h.AdvanceUntilAsync(() => c.Messages.Count > 2, 100, "a second heartbeat");
        var next = await c.ExpectAsync("heartbeat");
        Assert.True(next.At - heartbeat.At >= TimeSpan.FromMilliseconds(1_000), c.Describe());
    }

    [Fact]
    public async Task No_heartbeat_is_sent_while_other_messages_are_flowing()
    {
        await using var h = new SessionHarness(o => o.HeartbeatMs = 1_000);
        var c = await SubscribedAsync(h, 100, DeliveryPolicy.Conflate, "AAPL");

        // Three heartbeat intervals of a quote every 200 ms.
        for (var i = 0; i < 15; i++)
        {
            h.Advance(200);
            var quote = h.Publish("AAPL", 100m + i);
            await c.WaitForSeqAsync("AAPL", quote.Seq);
        }

        Assert.DoesNotContain(c.Messages, m => m.Type == "heartbeat");

        // Then silence: the heartbeat comes a full interval after the last frame.
        var lastFrame = c.Messages[^1];
        h.Advance(999);
        await h.AdvanceUntilAsync(() => c.Messages.Any(m => m.Type == "heartbeat"), 100, "a heartbeat");
        Assert.True(c.Messages.Single(m => m.Type == "heartbeat").At - lastFrame.At >= TimeSpan.FromMilliseconds(1_000), c.Describe());
    }

    internal static async Task<TestConnection> SubscribedAsync(SessionHarness h, int throttleMs, DeliveryPolicy policy, params string[] symbols)
    {
        var c = await h.ConnectAsync(throttleMs, policy);
        c.Send(JsonSerializer.Serialize(new { op = "subscribe", symbols }));
        await c.ExpectAsync("subscribed");
        await c.ExpectAsync("snapshot");
        return c;
    }
}
