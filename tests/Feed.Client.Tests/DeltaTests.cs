using Confluent.Kafka;
using MarketStream.Ingest;

namespace MarketStream.Client.Tests;

/// <summary>
/// <see cref="FeedClientOptions.Delta"/> (on by default): the server sends changed fields only, and every quote
/// read is still the symbol's whole state, equal to the gateway's to the last decimal digit.
/// </summary>
public class DeltaTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Every_quote_read_is_the_gateways_whole_quote_with_deltas_on_or_off(bool delta)
    {
        await using var gateway = await TestGateway.StartAsync(("Feed:Simulator:Enabled", false));
        var kafka = gateway.Get<KafkaConnection>();
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, LingerMs = 1 }).Build();
        void Produce(Tick tick)
        {
            producer.Produce(kafka.Topic, new Message<string, byte[]> { Key = tick.Symbol, Value = TickEncoder.ToUtf8(tick) });
            producer.Flush(TimeSpan.FromSeconds(15));
        }

        long Now() => ServerMessages.UnixMicros(DateTimeOffset.UtcNow);
        Produce(new Tick { Symbol = "DLT", Ts = Now(), Bid = 10.10m, Venue = "XNAS" });
        await Eventually.Holds(() => Task.FromResult(gateway.State.TryGet("DLT", out _)), "the first tick to be merged");

        var client = new FeedClient(new FeedClientOptions { Endpoint = gateway.Address, ThrottleMs = 0, Delta = delta });
        try
        {
            await Wait.For(client.SubscribeAsync(["DLT"]));
            Tick[] ticks =
            [
                new() { Symbol = "DLT", Ts = Now(), Bid = 10.1m },
                new() { Symbol = "DLT", Ts = Now(), Ask = 10.20m, AskSize = 300 },
                new() { Symbol = "DLT", Ts = Now(), Last = 10.15m, LastSize = 5, Venue = "ARCX" },
                new() { Symbol = "DLT", Ts = Now(), Bid = 10.10m, BidSize = 100 },
                new() { Symbol = "DLT", Ts = Now(), Ask = 10.2m },
            ];
            foreach (var tick in ticks)
            {
                Produce(tick);
                await Task.Delay(20);
            }

            await Eventually.Holds(() => Task.FromResult(gateway.State.TryGet("DLT", out var q) && q.Ask == 10.2m && q.Ask.Value.Scale == 1), "the last tick to be merged");
            Assert.True(gateway.State.TryGet("DLT", out var expected));
            var read = await Wait.ReadUntil(client, q => q.Count > 0 && q[^1].Seq == expected.Seq, $"seq {expected.Seq}");

            // Every quote is whole: the venue of the first tick is in all of them, and the last is the gateway's own.
            Assert.All(read, q => Assert.NotNull(q.Quote.Venue));
            Assert.Equal(expected, read[^1].Quote);
            Assert.Equal(1, read[^1].Quote.Ask!.Value.Scale);
            Assert.Equal(2, read[^1].Quote.Bid!.Value.Scale);
        }
        finally
        {
            await Wait.For(client.DisposeAsync());
        }
    }
}
