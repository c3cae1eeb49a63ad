using Confluent.Kafka;
using MarketStream.Contracts;
using MarketStream.Ingest.Embedded;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MarketStream.Ingest.Tests;

/// <summary>
/// The ingest as the gateway runs it (host, options, worker, channel) against an embedded broker, with a
/// fresh topic per harness and a Confluent producer acting as the outside world. The test reads the channel
/// in place of the market state.
/// </summary>
internal sealed class IngestHarness : IAsyncDisposable
{
    private readonly IHost host;

    private IngestHarness(EmbeddedKafkaCluster cluster, string topic, IHost host, IProducer<string, byte[]> producer)
    {
        Cluster = cluster;
        Topic = topic;
        this.host = host;
        Producer = producer;
    }

    public EmbeddedKafkaCluster Cluster { get; }

    public string Topic { get; }

    public IProducer<string, byte[]> Producer { get; }

    public TickChannel Channel => host.Services.GetRequiredService<TickChannel>();

    public IngestStats Stats => host.Services.GetRequiredService<IngestStats>();

    public IngestStatus Status => host.Services.GetRequiredService<IngestStatus>();

    /// <summary>Starts a cluster, a topic, the ingest host, and a producer. Records produced before start come from <paramref name="beforeStart"/>.</summary>
    public static async Task<IngestHarness> StartAsync(
        int brokers = 1,
        int partitions = 3,
        int channelCapacity = 1024,
        long lookback = 1000,
        Action<IProducer<string, byte[]>, string>? beforeStart = null,
        IReadOnlyDictionary<string, string?>? settings = null)
    {
        var cluster = EmbeddedKafkaCluster.Start(brokers);
        var topic = $"ticks-{Guid.NewGuid():N}";
        cluster.CreateTopic(topic, partitions, replicationFactor: brokers);
        var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            LingerMs = 1,
            MessageTimeoutMs = 60_000,
        }).Build();
        beforeStart?.Invoke(producer, topic);
        producer.Flush(TimeSpan.FromSeconds(10));

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Feed:Kafka:BootstrapServers"] = cluster.BootstrapServers,
            ["Feed:Kafka:Topic"] = topic,
            ["Feed:Kafka:LookbackMessages"] = lookback.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Feed:Ingest:ChannelCapacity"] = channelCapacity.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.Services.AddMarketStreamIngest(builder.Configuration);
        var host = builder.Build();
        await host.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return new IngestHarness(cluster, topic, host, producer);
    }

    public static byte[] TickBytes(string symbol, long ts, decimal last) =>
        TickEncoder.ToUtf8(new Tick { Symbol = symbol, Ts = ts, Last = last });

    public void Produce(string symbol, byte[] value) =>
        Producer.Produce(Topic, new Message<string, byte[]> { Key = symbol, Value = value });

    /// <summary>Reads exactly <paramref name="count"/> ticks from the channel, failing if they do not all come in time.</summary>
    public async Task<List<TickEnvelope>> ReadAsync(int count, TimeSpan timeout, Func<Task>? perItemDelay = null)
    {
        using var cts = new CancellationTokenSource(timeout);
        var list = new List<TickEnvelope>(count);
        try
        {
            while (list.Count < count)
            {
                list.Add(await Channel.Reader.ReadAsync(cts.Token));
                if (perItemDelay is not null)
                {
                    await perItemDelay();
                }
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"Only {list.Count} of {count} ticks reached the channel within {timeout}.");
        }

        return list;
    }

    public async ValueTask DisposeAsync()
    {
        await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        host.Dispose();
        Producer.Dispose();
        Cluster.Dispose();
    }
}
