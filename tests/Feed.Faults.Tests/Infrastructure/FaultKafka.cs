using Confluent.Kafka;
using MarketStream.Contracts;
using MarketStream.Ingest.Embedded;

namespace MarketStream.Faults.Tests.Infrastructure;

/// <summary>
/// A cluster the test owns (so it can take brokers down under a running gateway), one fresh topic, and an
/// outside producer writing to it with the Confluent client, as a real feed would.
/// </summary>
internal sealed class FaultKafka : IDisposable
{
    private readonly IProducer<string, byte[]> producer;

    public FaultKafka(int brokers = 1, int partitions = 3, int replicationFactor = 1)
    {
        Cluster = EmbeddedKafkaCluster.Start(brokers);
        Topic = "market.ticks." + Guid.NewGuid().ToString("N")[..8];
        Cluster.CreateTopic(Topic, partitions, replicationFactor);
        producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = Cluster.BootstrapServers,
            LingerMs = 0,

            // Idempotent, so a retry after a broker drops a connection mid-request cannot write a tick twice:
            // the tests count ticks exactly, and a duplicate would be the producer's fault, not the gateway's.
            EnableIdempotence = true,
            ReconnectBackoffMs = 50,
            ReconnectBackoffMaxMs = 500,
            MessageTimeoutMs = 60_000,
        }).SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
    }

    public EmbeddedKafkaCluster Cluster { get; }

    public string BootstrapServers => Cluster.BootstrapServers;

    public string Topic { get; }

    public static long NowMicros => ServerMessages.UnixMicros(DateTimeOffset.UtcNow);

    public void Produce(Tick tick) => Produce(tick.Symbol, TickEncoder.ToUtf8(tick));

    public void Produce(string key, byte[] value) =>
        producer.Produce(Topic, new Message<string, byte[]> { Key = key, Value = value });

    /// <summary>Waits until every record produced so far is acknowledged by the cluster.</summary>
    public void Flush(TimeSpan? timeout = null)
    {
        var left = producer.Flush(timeout ?? TimeSpan.FromSeconds(20));
        Assert.True(left == 0, $"{left} records not delivered to the cluster");
    }

    public void Dispose()
    {
        producer.Dispose();
        Cluster.Dispose();
    }
}
