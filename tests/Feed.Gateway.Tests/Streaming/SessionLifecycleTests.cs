using MarketStream.Contracts;
using static MarketStream.Gateway.Tests.Streaming.SessionDeliveryTests;

namespace MarketStream.Gateway.Tests.Streaming;

/// <summary>Closing a session, and the fan-out between sessions.</summary>
public class SessionLifecycleTests
{
    [Fact]
    public async Task BeginClose_closes_the_transport_with_its_code_after_the_send_in_flight()
    {
        await using var h = new SessionHarness();
        var c = await SubscribedAsync(h, 0, DeliveryPolicy.Conflate, "AAPL");
        c.Transport.Hold();
        h.Publish("AAPL", 1m);
        await Eventually.Holds(() => c.Transport.SendInFlight, "an updates frame to be in flight");

        c.Session.BeginClose(CloseCodes.GoingAway, "draining");
        Assert.Equal(CloseCodes.GoingAway, c.Session.CloseCode);
        Assert.Null(c.Transport.CloseCode);

        // Nothing more is queued once closing: no reply, no update.
        c.Send("""{"op":"ping","id":1}""");
        h.Publish("AAPL", 2m);
        Assert.Equal(0, c.Session.PendingCount);

        c.Transport.Release();
        await c.Transport.Closed.WaitAsync(SessionHarness.Timeout);
        await c.Run.WaitAsync(SessionHarness.Timeout);
        Assert.Equal(CloseCodes.GoingAway, c.Transport.CloseCode);
        Assert.Equal("draining", c.Transport.CloseReason);
        Assert.False(c.Transport.IsAborted);
        var events = c.Transport.Events;
        Assert.True(events.ToList().IndexOf("sent:updates") < events.ToList().IndexOf("close:1001"), string.Join(", ", events));
        Assert.Equal(["hello", "subscribed", "snapshot", "updates"], c.Messages.Select(m => m.Type));
    }

    [Fact]
    public async Task A_send_that_never_completes_is_aborted_after_the_close_timeout_and_the_session_ends()
    {
        await using var h = new SessionHarness(o => o.CloseTimeoutMs = 2_000);
        var c = await SubscribedAsync(h, 0, DeliveryPolicy.Conflate, "AAPL");
        c.Transport.Hold();
        h.Publish("AAPL", 1m);
        await Eventually.Holds(() => c.Transport.SendInFlight, "an updates frame to be in flight");

        c.Session.BeginClose(CloseCodes.GoingAway, "draining");
        h.Advance(1_999);
        Assert.False(c.Transport.IsAborted);
        Assert.False(c.Run.IsCompleted);

        h.Advance(1);
        Assert.True(c.Transport.IsAborted);
        await c.Run.WaitAsync(SessionHarness.Timeout);
        Assert.Equal(CloseCodes.GoingAway, c.Session.CloseCode);
        Assert.Equal(0, h.Index.SubscriptionCount);
    }

    [Fact]
    public async Task The_fan_out_reaches_only_the_sessions_subscribed_to_the_symbol()
    {
        await using var h = new SessionHarness();
        var one = await SubscribedAsync(h, 0, DeliveryPolicy.Conflate, "AAPL", "MSFT");
        var two = await SubscribedAsync(h, 0, DeliveryPolicy.Conflate, "NVDA");

        var aapl = h.Publish("AAPL", 1m);
        var nvda = h.Publish("NVDA", 2m);
        await one.WaitForSeqAsync("AAPL", aapl.Seq);
        await two.WaitForSeqAsync("NVDA", nvda.Seq);
        await one.SyncAsync();
        await two.SyncAsync();

        Assert.Equal(["AAPL"], one.UpdateQuotes().Select(q => q.GetProperty("symbol").GetString()));
        Assert.Equal(["NVDA"], two.UpdateQuotes().Select(q => q.GetProperty("symbol").GetString()));
    }

    [Fact]
    public async Task SubscriptionCount_follows_subscribe_unsubscribe_and_close()
    {
        await using var h = new SessionHarness();
        Assert.Equal(0, h.Index.SubscriptionCount);
        var one = await SubscribedAsync(h, 0, DeliveryPolicy.Conflate, "AAPL", "MSFT");
        Assert.Equal(2, h.Index.SubscriptionCount);
        var two = await SubscribedAsync(h, 0, DeliveryPolicy.Conflate, "AAPL", "aapl");
        Assert.Equal(3, h.Index.SubscriptionCount);

        one.Send("""{"op":"subscribe","symbols":["MSFT"]}""");
        Assert.Equal(3, h.Index.SubscriptionCount);
        one.Send("""{"op":"unsubscribe","symbols":["MSFT","NVDA"]}""");
        Assert.Equal(2, h.Index.SubscriptionCount);

        two.Session.BeginClose(CloseCodes.Normal, "bye");
        await two.Run.WaitAsync(SessionHarness.Timeout);
        Assert.Equal(1, h.Index.SubscriptionCount);

        // The closed session no longer hears of AAPL; the open one does.
        var aapl = h.Publish("AAPL", 1m);
        await one.WaitForSeqAsync("AAPL", aapl.Seq);
        Assert.Empty(two.UpdateFrames());
    }
}
