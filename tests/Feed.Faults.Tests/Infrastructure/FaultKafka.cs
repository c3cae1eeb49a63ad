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
    private readonly int partitions;

    public FaultKafka(int brokers = 1, int partitions = 3, int replicationFactor = 1)
    {
        this.partitions = partitions;
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

    /// <summary>
    /// The broker leading the partition that records keyed <paramref name="key"/> go to. The mock cluster picks
    /// leaders at random, so a test that takes "a" broker down must take down this one to be sure the fault
    /// touches its records. The partition is learnt by producing the key to a scratch topic of the same
    /// partition count (the partitioner depends on nothing else); the leader from the topic's metadata.
    /// </summary>
    public int LeaderOf(string key)
    {
        var scratch = "partition-probe-" + Guid.NewGuid().ToString("N")[..8];
        Cluster.CreateTopic(scratch, partitions);
        var partition = producer.ProduceAsync(scratch, new Message<string, byte[]> { Key = key, Value = [] })
            .WaitAsync(TimeSpan.FromSeconds(20)).GetAwaiter().GetResult().Partition.Value;
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = Cluster.BootstrapServers }).Build();
        return admin.GetMetadata(Topic, TimeSpan.FromSeconds(20)).Topics.Single().Partitions.Single(p => p.PartitionId == partition).Leader;
    }

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
