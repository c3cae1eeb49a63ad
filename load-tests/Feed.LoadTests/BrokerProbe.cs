using System.Text.Json;
using Confluent.Kafka;

namespace MarketStream.LoadTests;

/// <summary>
/// A Kafka consumer in the harness reading the same topic from the same broker with the gateway's fetch
/// settings, timing each record as receive time minus its <c>ts</c>. It measures the hop the gateway cannot
/// do better than (producer linger, broker, fetch wait), so a report can split a quote's latency into
/// "Kafka" and "gateway + WebSocket".
/// </summary>
internal sealed class BrokerProbe : IDisposable
{
    private readonly IConsumer<Ignore, byte[]> consumer;
    private readonly Thread thread;
    private readonly CancellationTokenSource stop = new();

    public BrokerProbe(string bootstrap)
    {
        // Asked of the cluster rather than taken from --partitions: on an existing cluster the topic is not ours.
        int partitions;
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build())
        {
            partitions = admin.GetMetadata(Topology.Topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Count;
        }

        consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "loadtests-probe",
            EnableAutoCommit = false,
            FetchWaitMaxMs = 2,
            SocketNagleDisable = true,
        }).Build();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(Topology.Topic, p, Offset.End)));
        thread = new Thread(Run) { IsBackground = true, Name = "broker-probe" };
        thread.Start();
    }

    /// <summary>Null while not measuring, as for the clients.</summary>
    public volatile LatencyRecorder? Recorder;

    private void Run()
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var result = consumer.Consume(stop.Token);
                var now = Clock.UnixMicros();
                if (Recorder is { } r && result?.Message?.Value is { } value && TryReadTs(value, out var ts))
                {
                    r.Record(now - ts);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    internal static bool TryReadTs(ReadOnlySpan<byte> json, out long ts)
    {
        ts = 0;
        var reader = new Utf8JsonReader(json);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("ts"u8))
                {
                    reader.Read();
                    return reader.TryGetInt64(out ts);
                }
            }
        }
        catch (JsonException)
        {
        }

        return false;
    }

    public void Dispose()
    {
        stop.Cancel();
        thread.Join(TimeSpan.FromSeconds(5));
        consumer.Close();
        consumer.Dispose();
        stop.Dispose();
    }
}
