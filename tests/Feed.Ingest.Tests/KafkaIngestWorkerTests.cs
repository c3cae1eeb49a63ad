using MarketStream.Contracts;

namespace MarketStream.Ingest.Tests;

public class KafkaIngestWorkerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Every_tick_produced_reaches_the_channel_in_order_per_symbol()
    {
        await using var harness = await IngestHarness.StartAsync(partitions: 3);
        await harness.Status.WarmedUp.WaitAsync(Timeout);
        string[] symbols = ["AAPL", "MSFT", "EUR/USD", "BRK.B", "NVDA"];
        const int perSymbol = 400;
        for (var i = 0; i < perSymbol; i++)
        {
            foreach (var symbol in symbols)
            {
                harness.Produce(symbol, IngestHarness.TickBytes(symbol, ts: i + 1, last: 100m + (i / 100m)));
            }
        }

        harness.Producer.Flush(Timeout);
        var received = await harness.ReadAsync(symbols.Length * perSymbol, Timeout);

        foreach (var group in received.GroupBy(e => e.Tick.Symbol))
        {
            var ticks = group.ToList();
            Assert.Equal(perSymbol, ticks.Count);
            Assert.Equal(Enumerable.Range(1, perSymbol).Select(i => (long)i), ticks.Select(t => t.Tick.Ts));
            Assert.Equal(ticks.Select(t => t.Seq).Order(), ticks.Select(t => t.Seq));
            Assert.Equal(ticks.Count, ticks.Select(t => t.Seq).Distinct().Count());
            Assert.All(ticks, t => Assert.Equal(t.Offset + 1, t.Seq));
        }

        Assert.Equal(symbols.Length * perSymbol, harness.Stats.Consumed);
        Assert.Equal(0, harness.Stats.RejectedTotal);
    }

    [Fact]
    public async Task Invalid_records_are_skipped_and_counted_by_reason_and_the_valid_ones_around_them_arrive()
    {
        await using var harness = await IngestHarness.StartAsync(partitions: 1);
        await harness.Status.WarmedUp.WaitAsync(Timeout);
        var bad = new (string Json, TickRejectReason Reason)[]
        {
            ("{not json", TickRejectReason.NotJson),
            ("[1,2]", TickRejectReason.NotObject),
            ("""{"ts":1,"bid":1}""", TickRejectReason.MissingSymbol),
            ("""{"symbol":"??","ts":1,"bid":1}""", TickRejectReason.InvalidSymbol),
            ("""{"symbol":"AAPL","bid":1}""", TickRejectReason.MissingTs),
            ("""{"symbol":"AAPL","ts":"x","bid":1}""", TickRejectReason.InvalidTs),
            ("""{"symbol":"AAPL","ts":1}""", TickRejectReason.NoPrice),
            ("""{"symbol":"AAPL","ts":1,"bid":-1}""", TickRejectReason.InvalidPrice),
            ("""{"symbol":"AAPL","ts":1,"bid":1,"bidSize":-5}""", TickRejectReason.InvalidSize),
            ("""{"symbol":"AAPL","ts":1,"bid":1,"venue":"WAY-TOO-LONG-VENUE-NAME"}""", TickRejectReason.InvalidVenue),
        };

        var ts = 0;
        foreach (var (json, _) in bad)
        {
            harness.Produce("AAPL", IngestHarness.TickBytes("AAPL", ++ts, 189.12m));
            harness.Produce("AAPL", System.Text.Encoding.UTF8.GetBytes(json));
        }

        harness.Produce("AAPL", IngestHarness.TickBytes("AAPL", ++ts, 189.13m));
        harness.Producer.Flush(Timeout);

        var received = await harness.ReadAsync(bad.Length + 1, Timeout);
        Assert.Equal(Enumerable.Range(1, bad.Length + 1).Select(i => (long)i), received.Select(e => e.Tick.Ts));
        Assert.Equal(189.13m, received[^1].Tick.Last);
        foreach (var (json, reason) in bad)
        {
            Assert.True(harness.Stats.Rejected(reason) == 1, $"{reason.Name()} counted {harness.Stats.Rejected(reason)} times for {json}");
        }

        Assert.Equal((2 * bad.Length) + 1, harness.Stats.Consumed);
    }

    [Fact]
    public async Task A_reader_slower_than_the_producer_keeps_the_channel_within_capacity_and_loses_nothing()
    {
        const int capacity = 16;
        const int total = 600;
        await using var harness = await IngestHarness.StartAsync(partitions: 2, channelCapacity: capacity);
        await harness.Status.WarmedUp.WaitAsync(Timeout);
        for (var i = 1; i <= total; i++)
        {
            harness.Produce($"S{i % 7}", IngestHarness.TickBytes($"S{i % 7}", i, 1m));
        }

        harness.Producer.Flush(Timeout);
        var maxDepth = 0;
        var received = await harness.ReadAsync(total, TimeSpan.FromSeconds(60), async () =>
        {
            maxDepth = Math.Max(maxDepth, harness.Channel.Count);
            await Task.Delay(1);
        });

        Assert.Equal(total, received.Select(e => e.Tick.Ts).Distinct().Count());
        Assert.InRange(maxDepth, 1, capacity);
        Assert.True(harness.Stats.ChannelFullWaits > 0, "the consumer never had to wait, so backpressure was not exercised");
    }

    [Fact]
    public async Task A_consumer_that_falls_further_behind_than_the_broker_retains_rejoins_near_the_end_and_keeps_running()
    {
        // A small prefetch, so the client's position stays close to what the channel has taken; a channel of 16
        // that nobody reads for a while, so the consumer waits (backpressure) while the producer floods one
        // partition past what the in-memory broker retains (it trims above 100,000 records or 5 MiB).
        await using var harness = await IngestHarness.StartAsync(partitions: 1, channelCapacity: 16, lookback: 500, settings: new Dictionary<string, string?>
        {
            ["Feed:Kafka:Properties:queued.max.messages.kbytes"] = "64",
            ["Feed:Kafka:Properties:max.partition.fetch.bytes"] = "16384",
        });
        await harness.Status.WarmedUp.WaitAsync(Timeout);
        const int Total = 160_000;
        for (var i = 1; i <= Total; i++)
        {
            harness.Produce("AAPL", IngestHarness.TickBytes("AAPL", i, 1m));
            if (i % 20_000 == 0)
            {
                harness.Producer.Flush(Timeout);
            }
        }

        harness.Producer.Flush(Timeout);

        // Now read: the consumer soon asks for a position the broker has deleted, and must rejoin rather than die
        // or crawl after the earliest record left. The newest tick arrives, and the jump is counted.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        long newest = 0;
        while (newest < Total)
        {
            newest = Math.Max(newest, (await harness.Channel.Reader.ReadAsync(cts.Token)).Tick.Ts);
        }

        Assert.True(harness.Stats.Skipped > 0, "the consumer never fell out of what the broker retains, so the test proved nothing");
        Assert.Null(harness.Status.FatalError);
    }

    [Fact]
    public async Task Warm_up_reads_the_look_back_and_then_turns_ready()
    {
        await using var harness = await IngestHarness.StartAsync(partitions: 1, lookback: 50, beforeStart: (producer, topic) =>
        {
            for (var i = 1; i <= 200; i++)
            {
                producer.Produce(topic, new() { Key = "AAPL", Value = IngestHarness.TickBytes("AAPL", i, 1m) });
            }
        });

        await harness.Status.WarmedUp.WaitAsync(Timeout);
        var received = await harness.ReadAsync(50, Timeout);
        Assert.Equal(Enumerable.Range(151, 50).Select(i => (long)i), received.Select(e => e.Tick.Ts));
    }

    [Fact]
    public async Task An_empty_topic_is_warm_at_once()
    {
        await using var harness = await IngestHarness.StartAsync(partitions: 4);
        await harness.Status.WarmedUp.WaitAsync(Timeout);
        Assert.True(harness.Status.IsWarm);
    }

    [Fact]
    public async Task After_the_broker_is_down_for_a_few_seconds_the_ingest_resumes_and_consumes_every_record()
    {
        await using var harness = await IngestHarness.StartAsync(partitions: 2);
        await harness.Status.WarmedUp.WaitAsync(Timeout);
        for (var i = 1; i <= 100; i++)
        {
            harness.Produce("AAPL", IngestHarness.TickBytes("AAPL", i, 1m));
        }

        harness.Producer.Flush(Timeout);
        var before = await harness.ReadAsync(100, Timeout);

        harness.Cluster.SetAllBrokersDown();
        for (var i = 101; i <= 200; i++)
        {
            // Buffered by the producer while the broker is away; delivered when it returns.
            harness.Produce("AAPL", IngestHarness.TickBytes("AAPL", i, 2m));
        }

        await Eventually.Holds(() => harness.Status.LastBrokerError is not null, "the ingest to notice the brokers are gone", TimeSpan.FromSeconds(10));
        harness.Cluster.SetAllBrokersUp();
        harness.Producer.Flush(Timeout);

        var after = await harness.ReadAsync(100, Timeout);
        Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), before.Concat(after).Select(e => e.Tick.Ts));
        Assert.Null(harness.Status.FatalError);
    }
}
