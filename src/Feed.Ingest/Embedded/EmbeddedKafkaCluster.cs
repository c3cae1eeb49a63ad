using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace MarketStream.Ingest.Embedded;

/// <summary>
/// An in-process, in-memory Kafka cluster: librdkafka's mock cluster (<c>rdkafka_mock.h</c>),
/// the one that ships inside the native librdkafka of Confluent.Kafka, started on loopback
/// ports and spoken to by ordinary Confluent producers, consumers and admin clients through
/// <see cref="BootstrapServers"/>.
/// </summary>
/// <remarks>
/// <para>
/// What it is for: development, tests and demos, where starting a real broker (a JVM or a
/// container) is too heavy. What it is not for: production, ever. Everything lives in this
/// process's memory, nothing is persisted or replicated for real, the broker implements only
/// the subset of the protocol librdkafka's own tests need (no CreateTopics admin request, for
/// instance: create topics with <see cref="CreateTopic"/>), and librdkafka marks the API
/// experimental with no stability guarantee. Disposing the cluster drops every record.
/// </para>
/// <para>
/// Memory: the mock broker does not keep a partition's whole log, so a simulator that runs for
/// hours does not grow it without bound. On every append it drops the partition's oldest
/// record batches while the partition holds more than 5 MiB of batches or more than 100,000
/// batches (limits in librdkafka's source, not configurable), and the low watermark moves up
/// with them. Measured with librdkafka 2.16.0: 2,000,000 records of 150 bytes into one
/// partition left low/high watermarks of 1,969,013/2,000,001 (about 31,000 records, 5 MiB,
/// retained) and process RSS went from 49 MiB to 73 MiB, flat after the first half million.
/// So budget roughly 5 MiB per partition, and expect a consumer that falls further behind than
/// that to get OFFSET_OUT_OF_RANGE and be moved by its <c>auto.offset.reset</c>. (librdkafka's
/// <c>rd_kafka_mock_partition_delete_records</c> is deliberately not wrapped: it sets the low
/// watermark to the given offset even when that is below the current one.)
/// </para>
/// <para>
/// Consumers: a Confluent consumer needs <c>group.id</c> even when it only uses <c>Assign</c>
/// and never subscribes: Confluent.Kafka 2.16's consumer constructor checks for it, so
/// <c>ConsumerBuilder.Build()</c> throws <see cref="ArgumentException"/> ("'group.id'
/// configuration parameter is required and was not specified.") before librdkafka is involved.
/// Any unique value will do: <c>Assign</c> never joins the group. Set
/// <c>enable.auto.commit=false</c> and pass explicit start offsets to <c>Assign</c> (e.g.
/// <c>Offset.Beginning</c>) so the group's committed offsets are neither written nor read.
/// </para>
/// <para>
/// Threading: all members are thread-safe; calls are serialised with each other and with
/// <see cref="Dispose"/>, after which every member throws <see cref="ObjectDisposedException"/>.
/// The native library is the very copy Confluent.Kafka loaded (see <see cref="LibrdkafkaNative"/>).
/// </para>
/// </remarks>
public sealed class EmbeddedKafkaCluster : IDisposable
{
    /// <summary>Kafka protocol API key of ProduceRequest, for <see cref="PushRequestErrors"/>.</summary>
    public const short ProduceApiKey = 0;

    /// <summary>Kafka protocol API key of FetchRequest, for <see cref="PushRequestErrors"/>.</summary>
    public const short FetchApiKey = 1;

    /// <summary>Kafka protocol API key of ListOffsetsRequest, for <see cref="PushRequestErrors"/>.</summary>
    public const short ListOffsetsApiKey = 2;

    /// <summary>Kafka protocol API key of MetadataRequest, for <see cref="PushRequestErrors"/>.</summary>
    public const short MetadataApiKey = 3;

    private const int ErrorBufferSize = 512;

    private readonly Lock _gate = new();
    private nint _handle;
    private nint _cluster;
    private bool _disposed;

    private EmbeddedKafkaCluster(nint handle, nint cluster, string bootstrapServers, int brokerCount)
    {
        _handle = handle;
        _cluster = cluster;
        BootstrapServers = bootstrapServers;
        BrokerCount = brokerCount;
    }

    /// <summary>
    /// The <c>bootstrap.servers</c> value for clients, e.g. <c>127.0.0.1:41234,127.0.0.1:41235</c>.
    /// The ports are picked by the operating system, so several clusters can run side by side.
    /// </summary>
    public string BootstrapServers { get; }

    /// <summary>Number of brokers; their ids are 1 to <see cref="BrokerCount"/>.</summary>
    public int BrokerCount { get; }

    /// <summary>
    /// Threads librdkafka runs in this process, over every client handle and mock cluster (its own count,
    /// <c>rd_kafka_thread_cnt</c>). Once every handle is destroyed it falls to zero; a handle that was never
    /// disposed keeps its threads, which is how a test house finds a leak.
    /// </summary>
    public static int LibrdkafkaThreadCount()
    {
        LibrdkafkaNative.EnsureLoaded();
        return LibrdkafkaNative.rd_kafka_thread_cnt();
    }

    /// <summary>
    /// Starts a mock cluster with <paramref name="brokers"/> brokers listening on loopback.
    /// </summary>
    /// <param name="brokers">Number of brokers, at least 1; ids start at 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="brokers"/> is less than 1.</exception>
    /// <exception cref="DllNotFoundException">librdkafka could not be loaded.</exception>
    /// <exception cref="InvalidOperationException">librdkafka refused to create the cluster.</exception>
    public static EmbeddedKafkaCluster Start(int brokers = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        LibrdkafkaNative.EnsureLoaded();

        // The mock cluster needs an rd_kafka_t for its book keeping. A producer handle without
        // bootstrap servers is the cheapest one; it never connects anywhere.
        var handle = CreateOwnerHandle();
        try
        {
            var cluster = LibrdkafkaNative.rd_kafka_mock_cluster_new(handle, brokers);
            if (cluster == 0)
            {
                throw new InvalidOperationException(
                    $"rd_kafka_mock_cluster_new failed to start a mock cluster of {brokers} broker(s) (librdkafka {Library.VersionString}).");
            }

            var bootstraps = Marshal.PtrToStringUTF8(LibrdkafkaNative.rd_kafka_mock_cluster_bootstraps(cluster));
            if (string.IsNullOrEmpty(bootstraps))
            {
                LibrdkafkaNative.rd_kafka_mock_cluster_destroy(cluster);
                throw new InvalidOperationException("rd_kafka_mock_cluster_bootstraps returned no address.");
            }

            return new EmbeddedKafkaCluster(handle, cluster, bootstraps, brokers);
        }
        catch
        {
            LibrdkafkaNative.rd_kafka_destroy(handle);
            throw;
        }
    }

    /// <summary>
    /// Creates <paramref name="topic"/> with <paramref name="partitions"/> partitions. The mock
    /// broker does not support the CreateTopics admin request, so this is the way to create topics
    /// up front (producers may also auto-create them, with the broker's defaults).
    /// </summary>
    /// <param name="topic">Topic name.</param>
    /// <param name="partitions">Number of partitions, at least 1.</param>
    /// <param name="replicationFactor">Replicas per partition, at least 1; capped at <see cref="BrokerCount"/>.</param>
    /// <exception cref="KafkaException">The broker refused, e.g. <c>TOPIC_ALREADY_EXISTS</c>; the message names the librdkafka error.</exception>
    public void CreateTopic(string topic, int partitions, int replicationFactor = 1)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            ArgumentException.ThrowIfNullOrWhiteSpace(topic);
            ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
            ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
            var replicas = Math.Min(replicationFactor, BrokerCount);
            var err = LibrdkafkaNative.rd_kafka_mock_topic_create(_cluster, topic, partitions, replicas);
            ThrowOnError(err, $"Creating topic '{topic}' ({partitions} partition(s), replication factor {replicas})");
        }
    }

    /// <summary>
    /// Takes broker <paramref name="brokerId"/> down: its connections are closed and new ones
    /// refused. Partition leadership does not move, so partitions it leads stall until
    /// <see cref="SetBrokerUp"/>.
    /// </summary>
    public void SetBrokerDown(int brokerId)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            ValidateBrokerId(brokerId);
            ThrowOnError(LibrdkafkaNative.rd_kafka_mock_broker_set_down(_cluster, brokerId), $"Setting broker {brokerId} down");
        }
    }

    /// <summary>Lets broker <paramref name="brokerId"/> accept connections again.</summary>
    public void SetBrokerUp(int brokerId)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            ValidateBrokerId(brokerId);
            ThrowOnError(LibrdkafkaNative.rd_kafka_mock_broker_set_up(_cluster, brokerId), $"Setting broker {brokerId} up");
        }
    }

    /// <summary>Takes every broker down (see <see cref="SetBrokerDown"/>).</summary>
    public void SetAllBrokersDown()
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            ThrowOnError(LibrdkafkaNative.rd_kafka_mock_broker_set_down(_cluster, LibrdkafkaNative.AllBrokers), "Setting all brokers down");
        }
    }

    /// <summary>Brings every broker back up.</summary>
    public void SetAllBrokersUp()
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            ThrowOnError(LibrdkafkaNative.rd_kafka_mock_broker_set_up(_cluster, LibrdkafkaNative.AllBrokers), "Setting all brokers up");
        }
    }

    /// <summary>
    /// Delays every response of broker <paramref name="brokerId"/> by <paramref name="rtt"/>
    /// (whole milliseconds), to simulate a distant broker. <see cref="TimeSpan.Zero"/> removes the delay.
    /// </summary>
    public void SetBrokerRtt(int brokerId, TimeSpan rtt)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            ValidateBrokerId(brokerId);
            ArgumentOutOfRangeException.ThrowIfLessThan(rtt, TimeSpan.Zero);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(rtt, TimeSpan.FromMilliseconds(int.MaxValue));
            var err = LibrdkafkaNative.rd_kafka_mock_broker_set_rtt(_cluster, brokerId, (int)rtt.TotalMilliseconds);
            ThrowOnError(err, $"Setting the round-trip time of broker {brokerId}");
        }
    }

    /// <summary>
    /// Makes the next <c>errors.Length</c> requests with API key <paramref name="apiKey"/> (on any
    /// broker) fail, the first with <c>errors[0]</c>, the next with <c>errors[1]</c>, and so on.
    /// <see cref="ErrorCode.Local_Transport"/> makes the broker drop the connection instead.
    /// </summary>
    /// <param name="apiKey">Kafka protocol API key, e.g. <see cref="ProduceApiKey"/>.</param>
    /// <param name="errors">Errors to return, in order.</param>
    public void PushRequestErrors(short apiKey, params ErrorCode[] errors)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            ArgumentNullException.ThrowIfNull(errors);
            ArgumentOutOfRangeException.ThrowIfNegative(apiKey);
            if (errors.Length == 0)
            {
                return;
            }

            // ErrorCode is an int enum with librdkafka's rd_kafka_resp_err_t values.
            var codes = new int[errors.Length];
            for (var i = 0; i < errors.Length; i++)
            {
                codes[i] = (int)errors[i];
            }

            unsafe
            {
                fixed (int* p = codes)
                {
                    LibrdkafkaNative.rd_kafka_mock_push_request_errors_array(_cluster, apiKey, (nuint)codes.Length, p);
                }
            }
        }
    }

    /// <summary>
    /// Stops the brokers, closes their connections and frees every record. Idempotent and
    /// thread-safe.
    /// </summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            LibrdkafkaNative.rd_kafka_mock_cluster_destroy(_cluster);
            LibrdkafkaNative.rd_kafka_destroy(_handle);
            _cluster = 0;
            _handle = 0;
        }
    }

    private static nint CreateOwnerHandle() =>
        // Warnings and errors only: at notice level this handle would report on stderr that it has no
        // bootstrap.servers, which is intended.
        LibrdkafkaNative.NewProducer([new("client.id", "marketstream-embedded-kafka"), new("log_level", "4")]);

    private static void ThrowOnError(int err, string what)
    {
        if (err == 0)
        {
            return;
        }

        var name = Marshal.PtrToStringUTF8(LibrdkafkaNative.rd_kafka_err2name(err)) ?? err.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var description = Marshal.PtrToStringUTF8(LibrdkafkaNative.rd_kafka_err2str(err)) ?? string.Empty;
        throw new KafkaException(new Error((ErrorCode)err, $"{what} failed: {name} ({description})"));
    }

    private void ValidateBrokerId(int brokerId)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokerId, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(brokerId, BrokerCount);
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
