using Confluent.Kafka;
using MarketStream.Contracts;
using MarketStream.Ingest;

namespace MarketStream.Gateway.Tests;

/// <summary>An outside producer writing ticks to a gateway's broker with the Confluent client, as a real feed would.</summary>
internal sealed class TickProducer : IDisposable
{
    private readonly IProducer<string, byte[]> producer;
    private readonly string topic;

    public TickProducer(GatewayHost gateway)
    {
        var connection = gateway.Get<KafkaConnection>();
        topic = connection.Topic;
        producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = connection.BootstrapServers, LingerMs = 1 }).Build();
    }

    public static long Now => ServerMessages.UnixMicros(DateTimeOffset.UtcNow);

    public void Produce(Tick tick) =>
        producer.Produce(topic, new Message<string, byte[]> { Key = tick.Symbol, Value = TickEncoder.ToUtf8(tick) });

    public void Produce(string symbol, decimal last) => Produce(new Tick { Symbol = symbol, Ts = Now, Last = last, Bid = last - 0.01m, Ask = last + 0.01m });

    public void Flush() => producer.Flush(TimeSpan.FromSeconds(15));

    public void Dispose() => producer.Dispose();
}
