using System.Net;
using System.Text.Json;
using MarketStream.Contracts;

namespace MarketStream.Gateway.Tests;

/// <summary>PROTOCOL.md section 2 over a real Kestrel on 127.0.0.1, fed through the embedded broker.</summary>
public class WebSocketProtocolTests
{
    [Fact]
    public async Task Hello_is_the_first_message_and_the_subprotocol_is_selected()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Symbols", "AAPL"), ("Feed:Gateway:HeartbeatMs", 4000));
        await using var client = await ProtocolClient.ConnectAsync(gateway.Address, "throttleMs=250&policy=drop-oldest");

        Assert.Equal("marketstream.v1", client.Socket.SubProtocol);
        var hello = (await client.ReceiveAsync())!.Value;
        Assert.Equal("hello", hello.Type());
        Assert.Equal("marketstream.v1", hello.GetProperty("protocol").GetString());
        Assert.False(string.IsNullOrEmpty(hello.GetProperty("sessionId").GetString()));
        Assert.Equal(250, hello.GetProperty("throttleMs").GetInt32());
        Assert.Equal("drop-oldest", hello.GetProperty("policy").GetString());
        Assert.Equal(4000, hello.GetProperty("heartbeatMs").GetInt32());
        Assert.InRange(hello.GetProperty("serverTime").GetInt64(), TickProducer.Now - 60_000_000, TickProducer.Now + 1_000_000);
    }

    [Fact]
    public async Task Without_the_subprotocol_offered_the_connection_still_works()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Symbols", "AAPL"));
        await using var client = await ProtocolClient.ConnectAsync(gateway.Address, subProtocol: null);
        Assert.True(string.IsNullOrEmpty(client.Socket.SubProtocol));
        Assert.Equal("hello", (await client.ReceiveAsync())!.Value.Type());
    }

    [Fact]
    public async Task Subscribe_gets_subscribed_then_one_snapshot_then_updates_with_strictly_increasing_seq()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Symbols", "AAPL,MSFT"), ("Feed:Simulator:TicksPerSecond", 400));
        await Eventually.Holds(() => Task.FromResult(gateway.State.Count == 2), "both symbols to have state");
        await using var client = await ProtocolClient.ConnectAsync(gateway.Address, "throttleMs=50");
        await client.ReceiveUntilAsync("hello");

        await client.SendAsync("""{"op":"subscribe","id":7,"symbols":["aapl","MSFT"]}""");
        var subscribed = (await client.ReceiveAsync())!.Value;
        Assert.Equal("subscribed", subscribed.Type());
        Assert.Equal(7, subscribed.GetProperty("id").GetInt32());
        Assert.Equal(["AAPL", "MSFT"], subscribed.GetProperty("symbols").EnumerateArray().Select(s => s.GetString()));

        var snapshot = (await client.ReceiveAsync())!.Value;
        Assert.Equal("snapshot", snapshot.Type());
        var lastSeq = snapshot.Quotes().ToDictionary(q => q.GetProperty("symbol").GetString()!, q => q.GetProperty("seq").GetInt64());
        Assert.Equal(["AAPL", "MSFT"], lastSeq.Keys.Order());
        Assert.All(snapshot.Quotes(), q =>
        {
            Assert.True(q.TryGetProperty("bid", out _));
            Assert.True(q.TryGetProperty("ts", out _));
        });

        var updates = 0;
        while (updates < 20)
        {
            var message = (await client.ReceiveAsync())!.Value;
            Assert.Equal("updates", message.Type());
            foreach (var quote in message.Quotes())
            {
                var symbol = quote.GetProperty("symbol").GetString()!;
                var seq = quote.GetProperty("seq").GetInt64();
                Assert.True(seq > lastSeq[symbol], $"{symbol} seq {seq} after {lastSeq[symbol]}");
                lastSeq[symbol] = seq;
            }

            updates++;
        }
    }

    [Fact]
    public async Task A_symbol_without_state_gets_an_empty_snapshot_and_then_its_first_tick()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false));
        using var producer = new TickProducer(gateway);
        await using var client = await ProtocolClient.ConnectAsync(gateway.Address, "throttleMs=0");
        await client.ReceiveUntilAsync("hello");
        await client.SendAsync("""{"op":"subscribe","symbols":["NEW.ONE"]}""");
        await client.ReceiveUntilAsync("subscribed");
        var snapshot = (await client.ReceiveAsync())!.Value;
        Assert.Equal("snapshot", snapshot.Type());
        Assert.Empty(snapshot.Quotes());

        producer.Produce(new Tick { Symbol = "NEW.ONE", Ts = 1795356633535123, Bid = 189.12m, Ask = 189.140m });
        producer.Flush();
        var update = (await client.ReceiveUntilAsync("updates")).Message.Quotes().Single();
        Assert.Equal("""{"symbol":"NEW.ONE","seq":1,"bid":189.12,"ask":189.140,"ts":1795356633535123}""", update.GetRawText());
    }

    [Fact]
    public async Task Unsubscribe_stops_a_symbol()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Symbols", "AAPL,MSFT"), ("Feed:Simulator:TicksPerSecond", 400));
        await using var client = await ProtocolClient.ConnectAsync(gateway.Address, "throttleMs=0");
        await client.ReceiveUntilAsync("hello");
        await client.SendAsync("""{"op":"subscribe","symbols":["AAPL","MSFT"]}""");
        await client.ReceiveUntilAsync("snapshot");

        await client.SendAsync("""{"op":"unsubscribe","id":8,"symbols":["MSFT","NOT.HELD"]}""");
        var (unsubscribed, _) = await client.ReceiveUntilAsync("unsubscribed");
        Assert.Equal(8, unsubscribed.GetProperty("id").GetInt32());
        Assert.Equal(["MSFT", "NOT.HELD"], unsubscribed.GetProperty("symbols").EnumerateArray().Select(s => s.GetString()));

        var symbolsAfter = new HashSet<string>();
        for (var i = 0; i < 30; i++)
        {
            foreach (var quote in (await client.ReceiveUntilAsync("updates")).Message.Quotes())
            {
                symbolsAfter.Add(quote.GetProperty("symbol").GetString()!);
            }
        }

        Assert.Equal(["AAPL"], symbolsAfter);
    }

    [Fact]
    public async Task Configure_changes_throttle_and_policy()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Symbols", "AAPL"), ("Feed:Simulator:TicksPerSecond", 500));
        await using var client = await ProtocolClient.ConnectAsync(gateway.Address, "throttleMs=0");
        await client.ReceiveUntilAsync("hello");

        await client.SendAsync("""{"op":"configure","id":9,"throttleMs":1000,"policy":"drop-oldest"}""");
        var configured = (await client.ReceiveAsync())!.Value;
        Assert.Equal("configured", configured.Type());
        Assert.Equal(9, configured.GetProperty("id").GetInt32());
        Assert.Equal(1000, configured.GetProperty("throttleMs").GetInt32());
        Assert.Equal("drop-oldest", configured.GetProperty("policy").GetString());

        await client.SendAsync("""{"op":"subscribe","symbols":["AAPL"]}""");
        await client.ReceiveUntilAsync("snapshot");

        // At 1000 ms throttle under drop-oldest, frames come about a second apart and each carries every tick
        // queued meanwhile, one quote per tick (no conflation).
        var first = await client.ReceiveUntilAsync("updates");
        var second = await client.ReceiveUntilAsync("updates");
        var quotes = second.Message.Quotes().ToList();
        Assert.True(quotes.Count > 20, $"a 1 s frame at 500 ticks/s on one symbol carried only {quotes.Count} quotes");
        Assert.All(quotes, q => Assert.False(q.TryGetProperty("conflated", out _)));
        var seqs = quotes.Select(q => q.GetProperty("seq").GetInt64()).ToList();
        Assert.Equal(seqs.Order(), seqs);
    }

    [Fact]
    public async Task Ping_is_answered_with_pong_echoing_the_id()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false));
        await using var client = await ProtocolClient.ConnectAsync(gateway.Address);
        await client.ReceiveUntilAsync("hello");
        await client.SendAsync("""{"op":"ping","id":10}""");
        var pong = (await client.ReceiveAsync())!.Value;
        Assert.Equal("pong", pong.Type());
        Assert.Equal(10, pong.GetProperty("id").GetInt32());
        Assert.True(pong.GetProperty("serverTime").GetInt64() > 0);

        await client.SendAsync("""{"op":"ping"}""");
        var bare = (await client.ReceiveAsync())!.Value;
        Assert.False(bare.TryGetProperty("id", out _));
    }

    [Fact]
    public async Task A_quiet_connection_gets_heartbeats()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false), ("Feed:Gateway:HeartbeatMs", 300));
        await using var client = await ProtocolClient.ConnectAsync(gateway.Address);
        await client.ReceiveUntilAsync("hello");
        for (var i = 0; i < 3; i++)
        {
            var heartbeat = (await client.ReceiveAsync(TimeSpan.FromSeconds(5)))!.Value;
            Assert.Equal("heartbeat", heartbeat.Type());
            Assert.True(heartbeat.GetProperty("serverTime").GetInt64() > 0);
        }
    }

    [Fact]
    public async Task Heartbeats_follow_the_gateways_clock()
    {
        // A fake clock handed to the gateway: its hello, its silence and its heartbeat all keep that time.
        var start = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(start);
        await using var gateway = await GatewayHost.StartWithClockAsync(clock,
            ("Feed:Simulator:Enabled", false), ("Feed:Gateway:HeartbeatMs", 1000), ("Feed:Gateway:KeepAliveIntervalMs", 0));
        await using var client = await ProtocolClient.ConnectAsync(gateway.Address);
        var (hello, _) = await client.ReceiveUntilAsync("hello");
        Assert.Equal(ServerMessages.UnixMicros(start), hello.GetProperty("serverTime").GetInt64());

        clock.Advance(TimeSpan.FromMilliseconds(1000));
        var heartbeat = (await client.ReceiveAsync(TimeSpan.FromSeconds(10)))!.Value;
        Assert.Equal("heartbeat", heartbeat.Type());
        Assert.Equal(ServerMessages.UnixMicros(start.AddSeconds(1)), heartbeat.GetProperty("serverTime").GetInt64());
    }

    [Fact]
    public async Task A_burst_reaches_a_throttled_client_as_fewer_frames_whose_conflated_counts_add_up()
    {
        const int burst = 400;
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false));
        using var producer = new TickProducer(gateway);
        await using var client = await ProtocolClient.ConnectAsync(gateway.Address, "throttleMs=1000");
        await client.ReceiveUntilAsync("hello");
        await client.SendAsync("""{"op":"subscribe","symbols":["BURST"]}""");
        await client.ReceiveUntilAsync("snapshot");

        for (var i = 1; i <= burst; i++)
        {
            producer.Produce(new Tick { Symbol = "BURST", Ts = i, Last = 100m + (i / 100m) });
        }

        producer.Flush();
        var frames = 0;
        var delivered = 0;
        var conflated = 0;
        JsonElement last = default;
        while (delivered + conflated < burst)
        {
            var frame = (await client.ReceiveUntilAsync("updates")).Message;
            frames++;
            foreach (var quote in frame.Quotes())
            {
                delivered++;
                conflated += quote.IntOr0("conflated");
                last = quote;
            }
        }

        Assert.Equal(burst, delivered + conflated);
        Assert.True(frames < burst / 10, $"{frames} frames for {burst} ticks");
        Assert.Equal(burst, last.GetProperty("ts").GetInt64());
        Assert.Equal(100m + (burst / 100m), last.GetProperty("last").GetDecimal());
    }

    [Fact]
    public async Task Settings_in_the_query_string_are_checked_before_the_upgrade()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false));
        var badThrottle = await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => ProtocolClient.ConnectAsync(gateway.Address, "throttleMs=70000"));
        Assert.Contains("400", badThrottle.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => ProtocolClient.ConnectAsync(gateway.Address, "policy=fastest"));

        var plain = await gateway.Http.GetAsync(new Uri("/ws?policy=fastest", UriKind.Relative));
        Assert.Equal(HttpStatusCode.UpgradeRequired, plain.StatusCode);
    }

    [Fact]
    public async Task Past_the_connection_limit_a_client_is_closed_with_1013()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false), ("Feed:Gateway:MaxConnections", 2));
        await using var a = await ProtocolClient.ConnectAsync(gateway.Address);
        await using var b = await ProtocolClient.ConnectAsync(gateway.Address);
        await a.ReceiveUntilAsync("hello");
        await b.ReceiveUntilAsync("hello");

        await using var c = await ProtocolClient.ConnectAsync(gateway.Address);
        Assert.Equal(CloseCodes.TryAgainLater, await c.ReceiveCloseAsync());

        // A slot freed is a slot available again.
        await a.DisposeAsync();
        await Eventually.Holds(() => Task.FromResult(gateway.Get<MarketStream.Gateway.Streaming.SessionRegistry>().Count == 1), "the first client to be gone");
        await using var d = await ProtocolClient.ConnectAsync(gateway.Address);
        Assert.Equal("hello", (await d.ReceiveAsync())!.Value.Type());
    }
}
