using System.Net;
using Confluent.Kafka;
using MarketStream.Contracts;
using MarketStream.Gateway.Market;
using MarketStream.Ingest;
using MarketStream.Ingest.Embedded;

namespace MarketStream.Gateway.Tests;

/// <summary>
/// The compacted quotes topic end to end: a gateway started after a symbol has gone quiet for longer than the
/// look-back, or after retention emptied the tick log, still serves that symbol whole, equal to what a gateway that
/// was running all along serves.
/// </summary>
public sealed class QuoteSnapshotTests : IDisposable
{
    private const string Ticks = "ticks";
    private const string Quotes = "quotes";
    private const int Lookback = 50;
    private readonly EmbeddedKafkaCluster cluster = EmbeddedKafkaCluster.Start();
    private readonly IProducer<string, byte[]> producer;

    public QuoteSnapshotTests()
    {
        cluster.CreateTopic(Ticks, 1);
        cluster.CreateTopic(Quotes, 1);
        producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, LingerMs = 1 }).Build();
    }

    [Fact]
    public async Task A_symbol_quiet_for_longer_than_the_look_back_is_served_whole_by_a_gateway_started_later()
    {
        await using var first = await StartAsync(("Feed:Snapshot:Publish", true), ("Feed:Snapshot:IntervalMs", 200));
        var illq = await BuryIllqAsync(first);

        // The look-back alone (no quotes topic to read) does not know the symbol: the test really buried it.
        await using (var blind = await StartAsync(("Feed:Snapshot:Topic", "no-such-topic")))
        {
            Assert.Equal(HttpStatusCode.NotFound, (await blind.Http.GetAsync(new Uri("/api/quotes/ILLQ", UriKind.Relative))).StatusCode);
        }

        await using var later = await StartAsync();
        Assert.Equal(illq, await later.Http.GetStringAsync(new Uri("/api/quotes/ILLQ", UriKind.Relative)));

        // Ticks after the snapshot still merge on top of it, under later seqs.
        Produce(new Tick { Symbol = "ILLQ", Ts = Now, Last = 42.5m });
        await Eventually.Holds(
            async () => (await later.Http.GetStringAsync(new Uri("/api/quotes/ILLQ", UriKind.Relative))).Contains("\"last\":42.5", StringComparison.Ordinal),
            "the new ILLQ tick on the later gateway");
        var merged = await later.Http.GetStringAsync(new Uri("/api/quotes/ILLQ", UriKind.Relative));
        Assert.Contains("\"venue\":\"XPAR\"", merged, StringComparison.Ordinal);
        Assert.Contains("\"bidSize\":300", merged, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_nothing_left_of_the_tick_log_a_starting_gateway_rebuilds_every_symbol_from_the_quotes_topic_alone()
    {
        await using var first = await StartAsync(("Feed:Snapshot:Publish", true), ("Feed:Snapshot:IntervalMs", 200));
        var illq = await BuryIllqAsync(first);

        // Retention emptying the tick log leaves a starting gateway nothing before the end to read. The embedded
        // broker cannot delete records (DeleteRecords is not supported), so a look-back of 0 stands in: the
        // gateway joins every tick partition at its end, exactly where it would join an emptied one.
        await using var later = await StartAsync(("Feed:Kafka:LookbackMessages", 0));
        Assert.Equal(illq, await later.Http.GetStringAsync(new Uri("/api/quotes/ILLQ", UriKind.Relative)));
        Assert.Equal(first.State.Symbols(), later.State.Symbols());
        foreach (var symbol in first.State.Symbols())
        {
            Assert.True(first.State.TryGet(symbol, out var expected));
            Assert.True(later.State.TryGet(symbol, out var actual));
            Assert.Equal(expected.Seq, actual.Seq);
            Assert.Equal(TickEncoder.ToUtf8(expected.ToTick()), TickEncoder.ToUtf8(actual.ToTick()));
        }
    }

    /// <summary>
    /// ILLQ ticks whole, then once partially (a bid), then is buried under four look-backs of other symbols' ticks;
    /// returns ILLQ as <paramref name="gateway"/> serves it once the quotes topic holds that state.
    /// </summary>
    private async Task<string> BuryIllqAsync(GatewayHost gateway)
    {
        Produce(new Tick { Symbol = "ILLQ", Ts = Now, Bid = 10.01m, Ask = 10.03m, Last = 10.02m, BidSize = 100, AskSize = 200, LastSize = 5, Venue = "XPAR" });
        Produce(new Tick { Symbol = "ILLQ", Ts = Now, Bid = 10.00m, BidSize = 300 });
        for (var i = 0; i < 4 * Lookback; i++)
        {
            Produce(new Tick { Symbol = $"BUSY{i % 20:D2}", Ts = Now, Last = 100m + i });
        }

        producer.Flush(TimeSpan.FromSeconds(15));
        var state = gateway.State;
        await Eventually.Holds(() => state.TryGet("BUSY19", out var q) && q.Seq == 2 + (4 * Lookback), "the first gateway to read every tick");
        Assert.True(state.TryGet("ILLQ", out var illq));
        await Eventually.Holds(() => QuotesTopicHas("ILLQ", illq.Seq), $"ILLQ at seq {illq.Seq} in the quotes topic");
        return await gateway.Http.GetStringAsync(new Uri("/api/quotes/ILLQ", UriKind.Relative));
    }

    private bool QuotesTopicHas(string symbol, long seq)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = "quotes-probe",
            EnableAutoCommit = false,
            EnablePartitionEof = true,
        }).Build();
        consumer.Assign(new TopicPartitionOffset(Quotes, 0, Offset.Beginning));
        try
        {
            while (consumer.Consume(TimeSpan.FromSeconds(5)) is { IsPartitionEOF: false } record)
            {
                if (record.Message.Key == symbol && QuoteSnapshot.TryReadSeq(record.Message.Headers, out var written) && written == seq)
                {
                    return true;
                }
            }

            return false;
        }
        finally
        {
            consumer.Close();
        }
    }

    private Task<GatewayHost> StartAsync(params (string Key, object Value)[] settings) => StartReadyAsync(
    [
        ("Feed:Kafka:BootstrapServers", cluster.BootstrapServers),
        ("Feed:Kafka:Topic", Ticks),
        ("Feed:Kafka:LookbackMessages", Lookback),
        ("Feed:Kafka:FetchWaitMaxMs", 2),
        ("Feed:Snapshot:Topic", Quotes),
        .. settings,
    ]);

    private static async Task<GatewayHost> StartReadyAsync((string Key, object Value)[] settings)
    {
        var gateway = await GatewayHost.StartAsync(settings);
        try
        {
            await gateway.WaitReadyAsync();
            return gateway;
        }
        catch
        {
            await gateway.DisposeAsync();
            throw;
        }
    }

    private static long Now => ServerMessages.UnixMicros(DateTimeOffset.UtcNow);

    private void Produce(Tick tick) =>
        producer.Produce(Ticks, new Message<string, byte[]> { Key = tick.Symbol, Value = TickEncoder.ToUtf8(tick) });

    public void Dispose()
    {
        producer.Dispose();
        cluster.Dispose();
    }
}
