namespace MarketStream.Ingest;

/// <summary>
/// <c>Feed:Kafka</c>: where ticks come from. Every property has its default here and nowhere else.
/// </summary>
public sealed class KafkaOptions
{
    public const string Section = "Feed:Kafka";

    /// <summary>
    /// Comma-separated <c>host:port</c> list of a real cluster. Empty (the default) starts the embedded
    /// in-memory broker and the market simulator instead: the development and demo mode.
    /// </summary>
    public string? BootstrapServers { get; set; }

    /// <summary>The tick topic. Defaults to <c>market.ticks</c> (PROTOCOL.md section 1).</summary>
    public string Topic { get; set; } = "market.ticks";

    /// <summary>
    /// How many records before the end of each partition the gateway reads at start to warm its
    /// last-value cache before it reports ready. Defaults to 5,000: enough for every active symbol of a
    /// busy partition, short enough that a start never replays minutes of history. 0 starts at the end
    /// (an empty cache until ticks arrive). At most 10,000,000.
    /// </summary>
    public long LookbackMessages { get; set; } = 5_000;

    /// <summary>
    /// The longest a fetch waits at the broker for data, in ms. Unset (the default) means 100 on a real
    /// cluster, whose brokers answer a waiting fetch as soon as data arrives (so this only paces idle
    /// polling), and 2 on the embedded broker, which does not wake a waiting fetch early: there this value is
    /// the tick latency floor. 1 to 10,000.
    /// </summary>
    public int? FetchWaitMaxMs { get; set; }

    /// <summary>
    /// How long the brokers may be unreachable before readiness turns false, in seconds. Defaults to 30:
    /// long enough to ride out a broker restart without pulling every replica out of the Service at once,
    /// short enough that a gateway cut off from Kafka stops receiving new clients. 1 to 3,600.
    /// </summary>
    public int UnreachableGraceSeconds { get; set; } = 30;

    /// <summary>
    /// How long the ingest may receive nothing, while the brokers are unreachable or the lag grows without progress,
    /// before clients are told the feed is stale (a <c>status</c> message), in seconds. Defaults to 10: longer than a
    /// broker's leader election, shorter than a trader's patience with frozen prices. A quiet market with reachable
    /// brokers is never stale. 1 to 3,600.
    /// </summary>
    public int StaleAfterSeconds { get; set; } = 10;

    /// <summary>Client id shown in broker logs and quotas. Defaults to <c>marketstream-gateway</c>.</summary>
    public string ClientId { get; set; } = "marketstream-gateway";

    /// <summary>
    /// Extra librdkafka settings passed through to every client as they are, for what a real cluster
    /// needs (for example <c>security.protocol</c>, <c>sasl.mechanism</c>, <c>ssl.ca.location</c>).
    /// </summary>
    public Dictionary<string, string> Properties { get; set; } = new(StringComparer.Ordinal);

    /// <summary>True when no real cluster is named and the embedded broker is used.</summary>
    public bool UseEmbeddedBroker => string.IsNullOrWhiteSpace(BootstrapServers);
}

/// <summary><c>Feed:Embedded</c>: the in-memory broker started when no bootstrap servers are configured.</summary>
public sealed class EmbeddedBrokerOptions
{
    public const string Section = "Feed:Embedded";

    /// <summary>Brokers in the embedded cluster. Defaults to 1; 1 to 9.</summary>
    public int Brokers { get; set; } = 1;

    /// <summary>Partitions of the tick topic created in it. Defaults to 6; 1 to 256.</summary>
    public int Partitions { get; set; } = 6;
}

/// <summary>
/// <c>Feed:Snapshot</c>: the compacted quotes topic. Every symbol's whole last quote, keyed by symbol, with the
/// <c>seq</c> of the tick it reflects, so a starting gateway knows symbols that have been quiet for longer than the
/// look-back, or since the tick log was emptied by retention.
/// </summary>
public sealed class SnapshotOptions
{
    public const string Section = "Feed:Snapshot";

    /// <summary>The quotes topic (<c>cleanup.policy=compact</c>). Defaults to <c>market.quotes</c>.</summary>
    public string Topic { get; set; } = "market.quotes";

    /// <summary>
    /// Whether this process publishes the quotes topic. Unset: only with the embedded broker. In a deployment one
    /// small publisher does it (k8s/); two publishers write the same quotes with the same seq, so an overlap during
    /// a rollout does no harm.
    /// </summary>
    public bool? Publish { get; set; }

    /// <summary>Each symbol is written at most once per this many milliseconds, and only when it changed. Defaults to 1,000; 100 to 3,600,000.</summary>
    public int IntervalMs { get; set; } = 1_000;
}

/// <summary><c>Feed:Ingest</c>: the hand-off from the Kafka consumer to the market state.</summary>
public sealed class IngestOptions
{
    public const string Section = "Feed:Ingest";

    /// <summary>
    /// Capacity of the bounded channel between the consumer and the market state, in ticks. Defaults to
    /// 16,384: a few milliseconds of a heavy burst. When full the consumer waits and Kafka keeps the
    /// backlog, so a larger value buys no safety, only memory. 16 to 1,048,576.
    /// </summary>
    public int ChannelCapacity { get; set; } = 16_384;
}

/// <summary><c>Feed:Simulator</c>: the market simulator that produces ticks into Kafka.</summary>
public sealed class SimulatorOptions
{
    public const string Section = "Feed:Simulator";

    /// <summary>
    /// Whether the gateway runs the simulator. Unset (the default) means: on with the embedded broker,
    /// off with a real cluster, so a production gateway never writes to a real topic unless told to.
    /// </summary>
    public bool? Enabled { get; set; }

    /// <summary>
    /// Comma-separated symbols to simulate. Empty (the default) uses the built-in universe of a few
    /// hundred listed equities, ETFs and FX pairs.
    /// </summary>
    public string? Symbols { get; set; }

    /// <summary>Ticks produced per second, across all symbols. Defaults to 2,000; 1 to 1,000,000.</summary>
    public int TicksPerSecond { get; set; } = 2_000;

    /// <summary>
    /// Share of ticks that carry only the fields that changed (a quote change or a trade) rather than the
    /// whole state. Defaults to 0.7; 0 to 1.
    /// </summary>
    public double PartialTickRatio { get; set; } = 0.7;

    /// <summary>Seed of the random walk, for reproducible runs. Unset (the default) seeds from the clock.</summary>
    public int? Seed { get; set; }

    /// <summary>Stop after this many ticks (load tests). Unset (the default) runs until the host stops.</summary>
    public long? MaxTicks { get; set; }
}
