using System.Text.Json;
using MarketStream.Contracts;

namespace MarketStream.Gateway.Tests.Streaming;

/// <summary>PROTOCOL.md section 2, client to server: each request and the replies it owes, in order.</summary>
public class SessionRequestTests
{
    [Theory]
    [InlineData(100, DeliveryPolicy.Conflate, "conflate")]
    [InlineData(0, DeliveryPolicy.DropOldest, "drop-oldest")]
    [InlineData(60_000, DeliveryPolicy.Disconnect, "disconnect")]
    public async Task Hello_is_the_first_message_and_states_the_sessions_settings(int throttleMs, DeliveryPolicy policy, string policyName)
    {
        await using var h = new SessionHarness(o => o.HeartbeatMs = 7_000);
        var c = h.Connect(throttleMs, policy);

        var hello = await c.ReadAsync();
        Assert.Equal("hello", hello.Type);
        Assert.Equal("marketstream.v1", hello["protocol"].GetString());
        Assert.Equal(c.Session.Id, hello["sessionId"].GetString());
        Assert.Equal(throttleMs, hello["throttleMs"].GetInt32());
        Assert.Equal(policyName, hello["policy"].GetString());
        Assert.Equal(7_000, hello["heartbeatMs"].GetInt32());
        Assert.Equal(ServerMessages.UnixMicros(h.Clock.GetUtcNow()), hello["serverTime"].GetInt64());
    }

    [Fact]
    public async Task Subscribe_is_answered_by_subscribed_then_one_snapshot_of_the_current_state_then_updates()
    {
        await using var h = new SessionHarness();
        h.Publish("AAPL", 189.12m, 189.14m, 100);
        h.Publish("AAPL", 189.10m);
        h.Publish("MSFT", 410.5m);
        var c = await h.ConnectAsync(throttleMs: 0);

        c.Send("""{"op":"subscribe","id":7,"symbols":["aapl","MSFT","nvda","AAPL"]}""");

        var subscribed = await c.ExpectAsync("subscribed");
        Assert.Equal(7, subscribed["id"].GetInt64());
        Assert.Equal(["AAPL", "MSFT", "NVDA"], Strings(subscribed["symbols"]));

        // NVDA has no state yet, so it is not in the snapshot; the others are, merged and with their seq.
        var snapshot = await c.ExpectAsync("snapshot");
        var quotes = snapshot["quotes"].EnumerateArray().ToDictionary(q => q.GetProperty("symbol").GetString()!);
        Assert.Equal(["AAPL", "MSFT"], quotes.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(2, quotes["AAPL"].GetProperty("seq").GetInt64());
        Assert.Equal("189.10", quotes["AAPL"].GetProperty("bid").GetRawText());
        Assert.Equal("189.14", quotes["AAPL"].GetProperty("ask").GetRawText());
        Assert.Equal(100, quotes["AAPL"].GetProperty("bidSize").GetInt64());
        Assert.False(quotes["AAPL"].TryGetProperty("conflated", out _));
        Assert.Equal(1, quotes["MSFT"].GetProperty("seq").GetInt64());

        h.Publish("AAPL", 189.13m);
        var update = Assert.Single((await c.ExpectAsync("updates"))["quotes"].EnumerateArray());
        Assert.Equal("AAPL", update.GetProperty("symbol").GetString());
        Assert.Equal(3, update.GetProperty("seq").GetInt64());
        Assert.Equal("189.13", update.GetProperty("bid").GetRawText());
        Assert.Equal("189.14", update.GetProperty("ask").GetRawText());

        h.Publish("NVDA", 900m);
        update = Assert.Single((await c.ExpectAsync("updates"))["quotes"].EnumerateArray());
        Assert.Equal("NVDA", update.GetProperty("symbol").GetString());
        Assert.Equal(1, update.GetProperty("seq").GetInt64());

        // Subscribing again to a held symbol is not an error, and sends no second snapshot of it.
        c.Send("""{"op":"subscribe","id":"again","symbols":["AAPL"]}""");
        Assert.Equal("again", (await c.ExpectAsync("subscribed"))["id"].GetString());
        Assert.Empty((await c.ExpectAsync("snapshot"))["quotes"].EnumerateArray());
        Assert.Equal(3, c.Session.SymbolCount);
    }

    [Fact]
    public async Task An_update_never_precedes_its_snapshot_while_ticks_race_the_subscribe()
    {
        await using var h = new SessionHarness();
        h.Publish("AAPL", 100m);
        var c = await h.ConnectAsync(throttleMs: 0);

        // The single market writer keeps ticking before, during and after the subscribe.
        var subscribedAt = -1;
        var ticks = 0;
        Quote last = null!;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writer = Task.Run(() =>
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            for (var i = 0; ; i++)
            {
                last = h.Publish("AAPL", 100m + (i / 100m));
                ticks++;
                if (i == 100)
                {
                    started.SetResult();
                }

                var at = Volatile.Read(ref subscribedAt);
                if ((at >= 0 && i > at + 1_000) || watch.Elapsed > SessionHarness.Timeout)
                {
                    return;
                }
            }
        });
        await started.Task.WaitAsync(SessionHarness.Timeout);
        c.Send("""{"op":"subscribe","symbols":["AAPL"]}""");
        await c.WaitForAsync(m => m.Any(x => x.Type == "snapshot"), "the snapshot");
        Volatile.Write(ref subscribedAt, ticks);
        await writer.WaitAsync(SessionHarness.Timeout);
        await c.WaitForSeqAsync("AAPL", last.Seq);

        var afterHello = c.Messages.Skip(1).ToList();
        Assert.Equal("subscribed", afterHello[0].Type);
        Assert.Equal("snapshot", afterHello[1].Type);
        Assert.Single(afterHello[1]["quotes"].EnumerateArray());
        Assert.True(afterHello.Count > 2, "the ticks after the subscribe were sent as updates");
        var seqs = afterHello.Skip(1)
            .SelectMany(m => m["quotes"].EnumerateArray())
            .Select(q => q.GetProperty("seq").GetInt64())
            .ToList();
        AssertStrictlyIncreasing(seqs);
    }

    [Fact]
    public async Task Seq_strictly_increases_on_the_wire_even_when_an_old_quote_is_offered_again()
    {
        await using var h = new SessionHarness();
        var c = await h.ConnectAsync(throttleMs: 0);
        var q1 = h.Publish("AAPL", 100m);
        c.Send("""{"op":"subscribe","symbols":["AAPL"]}""");
        await c.ExpectAsync("subscribed");
        await c.ExpectAsync("snapshot");
        var q2 = h.Publish("AAPL", 101m);
        var q3 = h.Publish("AAPL", 102m);
        await c.WaitForSeqAsync("AAPL", q3.Seq);

        // Redelivery (a replayed partition, a second fan-out) must not reach the client twice, nor go backwards.
        h.Index.Publish(q1);
        h.Index.Publish(q2);
        h.Index.Publish(q3);
        h.Index.Publish(q3 with { Bid = 999m });
        var q4 = h.Publish("AAPL", 103m);
        await c.WaitForSeqAsync("AAPL", q4.Seq);
        await c.SyncAsync();

        var seqs = c.Messages.Where(m => m.Type is "snapshot" or "updates")
            .SelectMany(m => m["quotes"].EnumerateArray())
            .Select(q => q.GetProperty("seq").GetInt64())
            .ToList();
        // q2 may have been conflated into q3; nothing else may be missing, repeated or out of order.
        Assert.Equal(q1.Seq, seqs[0]);
        Assert.Equal(q4.Seq, seqs[^1]);
        Assert.Contains(q3.Seq, seqs);
        AssertStrictlyIncreasing(seqs);
        Assert.DoesNotContain(c.UpdateQuotes(), q => q.GetProperty("bid").GetRawText() == "999");
    }

    [Fact]
    public async Task Unsubscribe_is_answered_and_no_update_of_that_symbol_follows_not_even_a_pending_one()
    {
        await using var h = new SessionHarness();
        var c = await h.ConnectAsync(throttleMs: 0);
        c.Send("""{"op":"subscribe","symbols":["AAPL","MSFT"]}""");
        await c.ExpectAsync("subscribed");
        await c.ExpectAsync("snapshot");

        c.Transport.Hold();
        h.Publish("AAPL", 1m);
        await Eventually.Holds(() => c.Transport.SendInFlight, "the first updates frame to be in flight");
        h.Publish("AAPL", 2m);
        h.Publish("MSFT", 3m);
        Assert.Equal(2, c.Session.PendingCount);

        c.Send("""{"op":"unsubscribe","id":8,"symbols":["aapl"]}""");
        Assert.Equal(1, c.Session.PendingCount);
        Assert.Equal(1, c.Session.SymbolCount);
        c.Transport.Release();

        Assert.Equal("AAPL", Assert.Single((await c.ExpectAsync("updates"))["quotes"].EnumerateArray()).GetProperty("symbol").GetString());
        var unsubscribed = await c.ExpectAsync("unsubscribed");
        Assert.Equal(8, unsubscribed["id"].GetInt64());
        Assert.Equal(["AAPL"], Strings(unsubscribed["symbols"]));
        Assert.Equal("MSFT", Assert.Single((await c.ExpectAsync("updates"))["quotes"].EnumerateArray()).GetProperty("symbol").GetString());

        h.Publish("AAPL", 4m);
        var msft = h.Publish("MSFT", 5m);
        await c.WaitForSeqAsync("MSFT", msft.Seq);
        var after = c.Messages.SkipWhile(m => m.Type != "unsubscribed").Where(m => m.Type == "updates");
        Assert.DoesNotContain(after.SelectMany(m => m["quotes"].EnumerateArray()), q => q.GetProperty("symbol").GetString() == "AAPL");

        // Unsubscribing from a symbol not held is not an error.
        c.Send("""{"op":"unsubscribe","id":9,"symbols":["NVDA"]}""");
        var reply = Assert.Single(await c.SyncAsync(), m => m.Type != "updates");
        Assert.Equal("unsubscribed", reply.Type);
        Assert.Equal(["NVDA"], Strings(reply["symbols"]));
    }

    [Fact]
    public async Task Configure_answers_with_the_effective_settings_and_they_take_effect()
    {
        await using var h = new SessionHarness(o => o.QueueCapacity = 16);
        var c = await h.ConnectAsync(throttleMs: 100, DeliveryPolicy.Conflate);
        c.Send("""{"op":"subscribe","symbols":["AAPL"]}""");
        await c.ExpectAsync("subscribed");
        await c.ExpectAsync("snapshot");

        c.Send("""{"op":"configure","id":9,"throttleMs":0,"policy":"drop-oldest"}""");
        var configured = await c.ExpectAsync("configured");
        Assert.Equal(9, configured["id"].GetInt64());
        Assert.Equal(0, configured["throttleMs"].GetInt32());
        Assert.Equal("drop-oldest", configured["policy"].GetString());

        // drop-oldest: every tick queued, none conflated; throttle 0: frames back to back, no time passing.
        c.Transport.Hold();
        h.Publish("AAPL", 1m);
        await Eventually.Holds(() => c.Transport.SendInFlight, "the first updates frame to be in flight");
        h.Publish("AAPL", 2m);
        h.Publish("AAPL", 3m);
        var last = h.Publish("AAPL", 4m);
        Assert.Equal(3, c.Session.PendingCount);
        c.Transport.Release();
        await c.WaitForSeqAsync("AAPL", last.Seq);
        var frames = c.UpdateFrames();
        Assert.Equal(2, frames.Count);
        Assert.Equal([2L, 3L, 4L], frames[1]["quotes"].EnumerateArray().Select(q => q.GetProperty("seq").GetInt64()));
        Assert.All(frames[1]["quotes"].EnumerateArray(), q => Assert.False(q.TryGetProperty("conflated", out _)));
        Assert.Equal(frames[0].At, frames[1].At);

        // Only the policy: the throttle stays as it is, and the reply says so.
        c.Send("""{"op":"configure","id":"c2","policy":"conflate"}""");
        configured = Assert.Single(await c.SyncAsync(), m => m.Type == "configured");
        Assert.Equal("c2", configured["id"].GetString());
        Assert.Equal(0, configured["throttleMs"].GetInt32());
        Assert.Equal("conflate", configured["policy"].GetString());
        c.Transport.Hold();
        h.Publish("AAPL", 5m);
        await Eventually.Holds(() => c.Transport.SendInFlight, "an updates frame to be in flight");
        h.Publish("AAPL", 6m);
        h.Publish("AAPL", 7m);
        Assert.Equal(1, c.Session.PendingCount);

        // Only the throttle: the next frame waits for it.
        c.Send("""{"op":"configure","throttleMs":1000}""");
        c.Transport.Release();
        configured = Assert.Single(await c.SyncAsync(), m => m.Type == "configured");
        Assert.False(configured.Has("id"));
        Assert.Equal(1000, configured["throttleMs"].GetInt32());
        Assert.Equal("conflate", configured["policy"].GetString());
        var throttledSince = c.UpdateFrames()[^1].At;
        h.Advance(999);
        await h.AdvanceUntilAsync(() => c.UpdateFrames().Count == 4, 100, "the frame after the new throttle");
        Assert.True(c.UpdateFrames()[^1].At - throttledSince >= TimeSpan.FromMilliseconds(1000), c.Describe());
    }

    [Fact]
    public async Task Configuring_another_policy_keeps_the_conflated_and_dropped_counts_of_what_is_pending()
    {
        await using var h = new SessionHarness(o => o.QueueCapacity = 16);
        var c = await h.ConnectAsync(throttleMs: 0, DeliveryPolicy.DropOldest);
        c.Send("""{"op":"subscribe","symbols":["AAPL"]}""");
        await c.ExpectAsync("subscribed");
        await c.ExpectAsync("snapshot");

        c.Transport.Hold();
        h.Publish("AAPL", 1m);
        await Eventually.Holds(() => c.Transport.SendInFlight, "the first updates frame to be in flight");
        const int Offered = 30;
        Quote last = null!;
        for (var i = 1; i < Offered; i++)
        {
            last = h.Publish("AAPL", 1m + i);
        }

        // 16 queued, 13 dropped by drop-oldest; then the client switches to conflate before it reads on.
        c.Send("""{"op":"configure","policy":"conflate"}""");
        c.Transport.Release();
        await c.WaitForSeqAsync("AAPL", last.Seq);

        // Whatever the policy did, the client must be able to account for every tick: a seq gap is always explained.
        var quotes = c.UpdateQuotes();
        var accounted = quotes.Count + quotes.Sum(q => Count(q, "conflated")) + quotes.Sum(q => Count(q, "dropped"));
        Assert.True(accounted == Offered, $"delivered {quotes.Count}, conflated {quotes.Sum(q => Count(q, "conflated"))}, dropped {quotes.Sum(q => Count(q, "dropped"))}; {Offered} offered. {c.Describe()}");
    }

    [Fact]
    public async Task A_conflated_quote_carried_into_a_queue_and_then_dropped_counts_all_its_ticks_as_dropped()
    {
        await using var h = new SessionHarness(o => o.QueueCapacity = 16);
        var c = await h.ConnectAsync(throttleMs: 0, DeliveryPolicy.Conflate);
        c.Send("""{"op":"subscribe","symbols":["AAPL","MSFT"]}""");
        await c.ExpectAsync("subscribed");
        await c.ExpectAsync("snapshot");

        c.Transport.Hold();
        h.Publish("AAPL", 1m);
        await Eventually.Holds(() => c.Transport.SendInFlight, "the first updates frame to be in flight");
        for (var i = 0; i < 10; i++)
        {
            h.Publish("AAPL", 2m + i);
        }

        // One AAPL quote standing for 10 ticks moves into a drop-oldest queue, and is then pushed out of it.
        c.Send("""{"op":"configure","policy":"drop-oldest"}""");
        for (var i = 0; i < 16; i++)
        {
            h.Publish("MSFT", 100m + i);
        }

        var last = h.Publish("AAPL", 50m);
        c.Transport.Release();
        await c.WaitForSeqAsync("AAPL", last.Seq);

        var aapl = c.UpdateQuotes().Where(q => q.GetProperty("symbol").GetString() == "AAPL").ToList();
        var accounted = aapl.Count + aapl.Sum(q => Count(q, "conflated")) + aapl.Sum(q => Count(q, "dropped"));
        Assert.True(accounted == 12, $"AAPL: 12 ticks offered, {aapl.Count} delivered, {aapl.Sum(q => Count(q, "conflated"))} conflated, {aapl.Sum(q => Count(q, "dropped"))} dropped. {c.Describe()}");
    }

    [Fact]
    public async Task Ping_is_answered_by_pong_with_the_same_id_and_the_server_time()
    {
        await using var h = new SessionHarness();
        var c = await h.ConnectAsync();
        h.Advance(1_234);

        c.Send("""{"op":"ping","id":10}""");
        var pong = await c.ExpectAsync("pong");
        Assert.Equal(JsonValueKind.Number, pong["id"].ValueKind);
        Assert.Equal(10, pong["id"].GetInt64());
        Assert.Equal(ServerMessages.UnixMicros(h.Clock.GetUtcNow()), pong["serverTime"].GetInt64());

        c.Send("""{"op":"ping","id":"abc-1"}""");
        pong = await c.ExpectAsync("pong");
        Assert.Equal(JsonValueKind.String, pong["id"].ValueKind);
        Assert.Equal("abc-1", pong["id"].GetString());

        c.Send("""{"op":"ping","id":-9007199254740993}""");
        Assert.Equal(-9007199254740993, (await c.ExpectAsync("pong"))["id"].GetInt64());

        c.Send("""{"op":"ping"}""");
        Assert.False((await c.ExpectAsync("pong")).Has("id"));
    }

    [Theory]
    [InlineData("not json", null)]
    [InlineData("", null)]
    [InlineData("[1,2,3]", null)]
    [InlineData("\"ping\"", null)]
    [InlineData("""{"op":"ping","id":1""", null)]
    [InlineData("""{"op":"dance","id":3}""", "3")]
    [InlineData("""{"id":"no-op"}""", "no-op")]
    [InlineData("""{"op":5,"id":4}""", "4")]
    [InlineData("""{"op":"subscribe","id":5,"symbols":"AAPL"}""", "5")]
    [InlineData("""{"op":"subscribe","id":6,"symbols":["AAPL",7]}""", "6")]
    [InlineData("""{"op":"subscribe","id":7}""", "7")]
    [InlineData("""{"op":"configure","id":8,"throttleMs":"100"}""", "8")]
    [InlineData("""{"op":"configure","id":9,"throttleMs":60001}""", "9")]
    [InlineData("""{"op":"configure","id":10,"throttleMs":-1}""", "10")]
    [InlineData("""{"op":"configure","id":11,"throttleMs":2.5}""", "11")]
    [InlineData("""{"op":"configure","id":12,"policy":"fastest"}""", "12")]
    [InlineData("""{"op":"configure","id":13,"policy":null}""", "13")]
    [InlineData("""{"op":"ping","id":{"n":1}}""", null)]
    [InlineData("""{"op":"ping","id":[1]}""", null)]
    [InlineData("""{"op":"ping","id":1.5}""", null)]
    public async Task A_malformed_request_gets_bad_request_and_the_session_stays_open(string frame, string? expectedId)
    {
        await using var h = new SessionHarness();
        var c = await h.ConnectAsync(throttleMs: 250, DeliveryPolicy.DropNewest);

        c.Send(frame);

        var error = await c.ExpectAsync("error");
        Assert.Equal("bad_request", error["code"].GetString());
        Assert.False(string.IsNullOrWhiteSpace(error["message"].GetString()));
        if (expectedId is null)
        {
            Assert.False(error.Has("id"));
        }
        else
        {
            Assert.Equal(expectedId, error["id"].ValueKind == JsonValueKind.Number ? error["id"].GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture) : error["id"].GetString());
        }

        // Still open, and nothing about it changed.
        c.Send("""{"op":"configure","id":"check"}""");
        var configured = await c.ExpectAsync("configured");
        Assert.Equal(250, configured["throttleMs"].GetInt32());
        Assert.Equal("drop-newest", configured["policy"].GetString());
        Assert.Equal(0, c.Session.SymbolCount);
        Assert.Null(c.Session.CloseCode);
        Assert.Null(c.Transport.CloseCode);
    }

    [Fact]
    public async Task A_binary_frame_gets_bad_request_and_the_session_stays_open()
    {
        await using var h = new SessionHarness();
        var c = await h.ConnectAsync();

        c.Session.HandleBinaryFrame();

        var error = await c.ExpectAsync("error");
        Assert.Equal("bad_request", error["code"].GetString());
        Assert.False(error.Has("id"));
        await c.SyncAsync();
        Assert.Null(c.Session.CloseCode);
    }

    [Fact]
    public async Task Invalid_symbols_get_invalid_symbol_naming_them_while_the_valid_ones_are_subscribed()
    {
        await using var h = new SessionHarness();
        h.Publish("MSFT", 410m);
        var c = await h.ConnectAsync();

        c.Send("""{"op":"subscribe","id":7,"symbols":["aapl","??","msft","-X","ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456","ÄPFEL"]}""");

        var replies = await c.SyncAsync();
        Assert.Equal("subscribed", replies[0].Type);
        Assert.Equal(["AAPL", "MSFT"], Strings(replies[0]["symbols"]));
        Assert.Equal("MSFT", Assert.Single(Assert.Single(replies, m => m.Type == "snapshot")["quotes"].EnumerateArray()).GetProperty("symbol").GetString());
        var error = Assert.Single(replies, m => m.Type == "error");
        Assert.Equal("invalid_symbol", error["code"].GetString());
        Assert.Equal(7, error["id"].GetInt64());
        Assert.Equal(["??", "-X", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", "ÄPFEL"], Strings(error["symbols"]));
        Assert.Equal(2, c.Session.SymbolCount);

        // All invalid: only the error.
        c.Send("""{"op":"subscribe","id":8,"symbols":["a b"]}""");
        replies = await c.SyncAsync();
        error = Assert.Single(replies);
        Assert.Equal("invalid_symbol", error["code"].GetString());
        Assert.Equal(["a b"], Strings(error["symbols"]));
        Assert.Null(c.Session.CloseCode);
    }

    [Fact]
    public async Task Subscribing_past_the_per_connection_limit_gets_too_many_symbols_and_changes_nothing()
    {
        await using var h = new SessionHarness(o => o.MaxSymbolsPerConnection = 3);
        var c = await h.ConnectAsync();
        c.Send("""{"op":"subscribe","symbols":["A","B"]}""");
        await c.ExpectAsync("subscribed");
        await c.ExpectAsync("snapshot");

        c.Send("""{"op":"subscribe","id":2,"symbols":["C","D"]}""");
        var error = Assert.Single(await c.SyncAsync());
        Assert.Equal("error", error.Type);
        Assert.Equal("too_many_symbols", error["code"].GetString());
        Assert.Equal(2, error["id"].GetInt64());
        Assert.Equal(2, c.Session.SymbolCount);
        Assert.Equal(2, h.Index.SubscriptionCount);

        // Symbols already held do not count twice: this fills the connection exactly.
        c.Send("""{"op":"subscribe","id":3,"symbols":["b","C"]}""");
        Assert.Equal(["B", "C"], Strings((await c.ExpectAsync("subscribed"))["symbols"]));
        Assert.Equal(3, c.Session.SymbolCount);
        Assert.Null(c.Session.CloseCode);
    }

    [Fact]
    public async Task Requests_past_twice_the_rate_get_rate_limited_and_are_accepted_again_once_time_passes()
    {
        await using var h = new SessionHarness(o => o.MaxRequestsPerSecond = 5);
        var c = await h.ConnectAsync();

        // A burst of twice the rate is allowed; the next ones are refused, each with its own id.
        for (var i = 1; i <= 13; i++)
        {
            c.Send($$"""{"op":"ping","id":{{i}}}""");
        }

        for (var i = 1; i <= 10; i++)
        {
            Assert.Equal(i, (await c.ExpectAsync("pong"))["id"].GetInt64());
        }

        for (var i = 11; i <= 13; i++)
        {
            var error = await c.ExpectAsync("error");
            Assert.Equal("rate_limited", error["code"].GetString());
            Assert.Equal(i, error["id"].GetInt64());
        }

        Assert.Null(c.Session.CloseCode);

        // A second at the rate refills five requests, not more.
        h.Advance(1_000);
        for (var i = 14; i <= 19; i++)
        {
            c.Send($$"""{"op":"ping","id":{{i}}}""");
        }

        for (var i = 14; i <= 18; i++)
        {
            Assert.Equal(i, (await c.ExpectAsync("pong"))["id"].GetInt64());
        }

        Assert.Equal("rate_limited", (await c.ExpectAsync("error"))["code"].GetString());
        Assert.Null(c.Session.CloseCode);
    }

    [Fact]
    public async Task Binary_frames_count_against_the_request_rate()
    {
        await using var h = new SessionHarness(o => o.MaxRequestsPerSecond = 5);
        var c = await h.ConnectAsync();

        for (var i = 0; i < 10; i++)
        {
            c.Session.HandleBinaryFrame();
        }

        c.Send("""{"op":"ping","id":11}""");
        var replies = new List<SentMessage>();
        for (var i = 0; i < 11; i++)
        {
            replies.Add(await c.ExpectAsync("error"));
        }

        Assert.All(replies.Take(10), m => Assert.Equal("bad_request", m["code"].GetString()));
        Assert.Equal("rate_limited", replies[10]["code"].GetString());
        Assert.Equal(11, replies[10]["id"].GetInt64());
    }

    [Fact]
    public async Task A_client_that_keeps_going_past_the_rate_is_closed_with_4029()
    {
        await using var h = new SessionHarness(o => o.MaxRequestsPerSecond = 5);
        var c = await h.ConnectAsync();

        for (var i = 1; i <= 15; i++)
        {
            c.Send($$"""{"op":"ping","id":{{i}}}""");
        }

        Assert.Null(c.Session.CloseCode);
        c.Send("""{"op":"ping","id":16}""");
        Assert.Equal(4029, c.Session.CloseCode);

        await c.Transport.Closed.WaitAsync(SessionHarness.Timeout);
        await c.Run.WaitAsync(SessionHarness.Timeout);
        Assert.Equal(4029, c.Transport.CloseCode);
    }

    internal static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    internal static int Count(JsonElement quote, string property) =>
        quote.TryGetProperty(property, out var value) ? value.GetInt32() : 0;

    internal static void AssertStrictlyIncreasing(IReadOnlyList<long> seqs)
    {
        for (var i = 1; i < seqs.Count; i++)
        {
            Assert.True(seqs[i] > seqs[i - 1], $"seq {seqs[i]} after {seqs[i - 1]} at position {i}");
        }
    }
}
