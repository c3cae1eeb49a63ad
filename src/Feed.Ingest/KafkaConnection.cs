using Confluent.Kafka;
using MarketStream.Ingest.Embedded;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MarketStream.Ingest;

/// <summary>
/// The Kafka cluster the gateway talks to: the configured one, or, when none is configured, an embedded
/// in-memory broker started here with the tick topic created in it (DESIGN.md decision 8). Every Kafka
/// client of the process takes its settings from here, so the embedded path runs the same consumer and
/// producer code as production.
/// </summary>
public sealed partial class KafkaConnection : IDisposable
{
    private readonly KafkaOptions options;

    public KafkaConnection(IOptions<KafkaOptions> kafka, IOptions<EmbeddedBrokerOptions> embedded, IOptions<SnapshotOptions> snapshot, ILogger<KafkaConnection> logger)
    {
        ArgumentNullException.ThrowIfNull(kafka);
        ArgumentNullException.ThrowIfNull(embedded);
        ArgumentNullException.ThrowIfNull(snapshot);
        options = kafka.Value;
        SnapshotTopic = snapshot.Value.Topic;
        if (!options.UseEmbeddedBroker)
        {
            BootstrapServers = options.BootstrapServers!;
            LogRealCluster(logger, BootstrapServers, options.Topic);
            return;
        }

        var e = embedded.Value;
        Embedded = EmbeddedKafkaCluster.Start(e.Brokers);
        Embedded.CreateTopic(options.Topic, e.Partitions, replicationFactor: Math.Min(3, e.Brokers));

        // The embedded broker does not compact; it lives as long as this process, so its quotes log stays short.
        Embedded.CreateTopic(SnapshotTopic, 1, replicationFactor: Math.Min(3, e.Brokers));
        BootstrapServers = Embedded.BootstrapServers;
        LogEmbedded(logger, BootstrapServers, options.Topic, e.Partitions);
    }

    /// <summary>The bootstrap servers in use.</summary>
    public string BootstrapServers { get; }

    /// <summary>The embedded cluster, when no real cluster is configured.</summary>
    public EmbeddedKafkaCluster? Embedded { get; }

    public string Topic => options.Topic;

    /// <summary>The compacted quotes topic (<see cref="SnapshotOptions.Topic"/>).</summary>
    public string SnapshotTopic { get; }

    /// <summary>
    /// How long a client waits for any answer on a broker connection before it drops the connection and
    /// reconnects, unless the client sets its own (the consumer adds its fetch wait) or the pass-through properties
    /// do. A broker host that vanished, a network partition or a stalled broker sends no FIN or RST: until this
    /// timeout the client waits on a connection that will never answer, however soon the broker is back.
    /// librdkafka's default is 60 s, a frozen minute for every terminal; 10 s is plenty for requests that take
    /// milliseconds.
    /// </summary>
    public const int SocketTimeoutMs = 10_000;

    /// <summary>
    /// The longest wait between two attempts to reach a broker that is down, unless the pass-through properties set
    /// their own. librdkafka doubles the wait after each failed attempt up to 10 s by default, so after an outage
    /// of ten seconds or more the next attempt may come seconds after the broker is back, and the feed with it.
    /// With 1 s, a client tries again within a second of the broker's return; one attempt a second per broker is
    /// nothing to a broker.
    /// </summary>
    public const int ReconnectBackoffMaxMs = 1_000;

    /// <summary>Settings shared by every client: bootstrap servers, client id, the socket timeout, and the pass-through properties.</summary>
    public T Configure<T>(T config)
        where T : ClientConfig
    {
        ArgumentNullException.ThrowIfNull(config);
        config.BootstrapServers = BootstrapServers;
        config.ClientId ??= options.ClientId;
        config.SocketTimeoutMs ??= SocketTimeoutMs;
        config.ReconnectBackoffMaxMs ??= ReconnectBackoffMaxMs;
        foreach (var (key, value) in options.Properties)
        {
            config.Set(key, value);
        }

        return config;
    }

    public void Dispose() => Embedded?.Dispose();

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning,
        Message = "No Feed:Kafka:BootstrapServers configured: started the EMBEDDED in-memory Kafka broker at {BootstrapServers} (topic {Topic}, {Partitions} partitions). It is for development, demos and tests only; production must name real brokers.")]
    private static partial void LogEmbedded(ILogger logger, string bootstrapServers, string topic, int partitions);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Consuming Kafka cluster {BootstrapServers}, topic {Topic}")]
    private static partial void LogRealCluster(ILogger logger, string bootstrapServers, string topic);
}
