using System.Text.Json;
using MarketStream.Contracts;
using MarketStream.Gateway.Streaming;

namespace MarketStream.Gateway.Tests;

/// <summary>
/// Clients that stop reading while ticks keep flowing, over real sockets with small receive buffers, so the
/// server's sends genuinely block. Each checks the slow client's server-side bound and the neighbour's cadence.
/// </summary>
public class SlowConsumerTests
{
    private const string Symbols = "S01,S02,S03,S04,S05,S06,S07,S08,S09,S10";
    private static readonly string SubscribeAll = """{"op":"subscribe","symbols":["S01","S02","S03","S04","S05","S06","S07","S08","S09","S10"]}""";

    [Fact]
    public async Task Under_conflate_a_stalled_client_holds_at_most_one_quote_per_symbol_and_its_neighbour_keeps_its_cadence()
    {
        await using var gateway = await GatewayHost.StartWithSmallSendBuffersAsync(("Feed:Simulator:Symbols", Symbols), ("Feed:Simulator:TicksPerSecond", 2000));
        await using var slow = await ConnectSubscribedAsync(gateway, "throttleMs=0&policy=conflate", small: true);
        await using var normal = await ConnectSubscribedAsync(gateway, "throttleMs=100");
        var slowSession = await FindSessionAsync(gateway, slow);
        await WaitUntilBlockedAsync(slowSession);

        // The slow client reads nothing for 4 s more; meanwhile sample its pending state and count the neighbour's frames.
        var maxPending = 0;
        var sampler = Task.Run(async () =>
        {
            var until = DateTime.UtcNow.AddSeconds(4);
            while (DateTime.UtcNow < until)
            {
                maxPending = Math.Max(maxPending, slowSession.PendingCount);
                await Task.Delay(5);
            }
        });
        var normalFrames = 0;
        var window = DateTime.UtcNow.AddSeconds(4);
        while (DateTime.UtcNow < window)
        {
            if ((await normal.ReceiveAsync())!.Value.Type() == "updates")
            {
                normalFrames++;
            }
        }

        await sampler.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.InRange(maxPending, 1, 10);
        Assert.True(normalFrames >= 20, $"the neighbour got {normalFrames} frames in 4 s at throttle 100 ms");

        // When the slow client reads again, what it gets was coalesced while it stalled.
        var maxConflated = 0;
        for (var i = 0; i < 200 && maxConflated < 10; i++)
        {
            var message = (await slow.ReceiveAsync())!.Value;
            if (message.Type() == "updates")
            {
                maxConflated = Math.Max(maxConflated, message.Quotes().Max(q => q.IntOr0("conflated")));
            }
        }

        Assert.True(maxConflated >= 10, "no quote showed the ticks merged while the client was not reading");
        Assert.Null(slowSession.CloseCode);
    }

    [Fact]
    public async Task Under_drop_oldest_a_stalled_client_is_bounded_by_the_queue_and_later_quotes_carry_dropped()
    {
        await using var gateway = await GatewayHost.StartWithSmallSendBuffersAsync(
            ("Feed:Simulator:Symbols", Symbols), ("Feed:Simulator:TicksPerSecond", 2000), ("Feed:Gateway:QueueCapacity", 32));
        await using var slow = await ConnectSubscribedAsync(gateway, "throttleMs=0&policy=drop-oldest", small: true);
        var session = await FindSessionAsync(gateway, slow);
        await WaitUntilBlockedAsync(session);

        var maxPending = 0;
        var until = DateTime.UtcNow.AddSeconds(3);
        while (DateTime.UtcNow < until)
        {
            maxPending = Math.Max(maxPending, session.PendingCount);
            await Task.Delay(5);
        }

        Assert.InRange(maxPending, 1, 32);
        var dropped = 0;
        for (var i = 0; i < 5000 && dropped == 0; i++)
        {
            var message = (await slow.ReceiveAsync())!.Value;
            if (message.Type() == "updates")
            {
                dropped = message.Quotes().Sum(q => q.IntOr0("dropped"));
            }
        }

        Assert.True(dropped > 0, "no quote carried 'dropped' after the queue overflowed");
        Assert.True(gateway.Get<GatewayStats>().QuotesDropped > 0);
    }

    [Fact]
    public async Task Under_disconnect_a_stalled_client_is_closed_with_4001()
    {
        await using var gateway = await GatewayHost.StartWithSmallSendBuffersAsync(
            ("Feed:Simulator:Symbols", Symbols), ("Feed:Simulator:TicksPerSecond", 2000),
            ("Feed:Gateway:QueueCapacity", 16), ("Feed:Gateway:CloseTimeoutMs", 20000));
        await using var normal = await ConnectSubscribedAsync(gateway, "throttleMs=100");
        await using var slow = await ConnectSubscribedAsync(gateway, "throttleMs=0&policy=disconnect", small: true);
        var session = await FindSessionAsync(gateway, slow);

        await Eventually.Holds(() => Task.FromResult(session.CloseCode == CloseCodes.SlowConsumer), "the server to give up on the slow client", TimeSpan.FromSeconds(20));

        // Reading again, the client drains what was in flight and then finds the close frame.
        Assert.Equal(CloseCodes.SlowConsumer, await slow.ReceiveCloseAsync(TimeSpan.FromSeconds(20)));

        // The neighbour kept streaming after the slow client was cut off: updates that carry quotes, newer each time.
        var lastSeq = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < 5; i++)
        {
            var quotes = (await normal.ReceiveUntilAsync("updates")).Message.Quotes().ToList();
            Assert.NotEmpty(quotes);
            foreach (var q in quotes)
            {
                var symbol = q.GetProperty("symbol").GetString()!;
                var seq = q.GetProperty("seq").GetInt64();
                Assert.True(seq > lastSeq.GetValueOrDefault(symbol), $"{symbol} seq {seq} not after {lastSeq.GetValueOrDefault(symbol)}");
                lastSeq[symbol] = seq;
            }
        }
    }

    private static async Task<ProtocolClient> ConnectSubscribedAsync(GatewayHost gateway, string query, bool small = false)
    {
        var client = await ProtocolClient.ConnectAsync(gateway.Address, query, smallReceiveBuffer: small);
        await client.ReceiveUntilAsync("hello");
        await client.SendAsync(SubscribeAll);
        await client.ReceiveUntilAsync("snapshot");
        return client;
    }

    /// <summary>The client reads nothing; once its socket is full the server's send blocks and quotes start to wait.</summary>
    private static Task WaitUntilBlockedAsync(Session session) =>
        Eventually.Holds(() => Task.FromResult(session.PendingCount > 0), "the stalled client's sends to block", TimeSpan.FromSeconds(20));

    private static async Task<Session> FindSessionAsync(GatewayHost gateway, ProtocolClient client)
    {
        Session? found = null;
        await Eventually.Holds(() =>
        {
            found = gateway.Get<SessionRegistry>().Snapshot().SingleOrDefault(s => s.Id == client.SessionId);
            return Task.FromResult(found is not null);
        }, "the server-side session");
        return found!;
    }
}
