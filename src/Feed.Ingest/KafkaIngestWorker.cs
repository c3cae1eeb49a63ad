using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using MarketStream.Contracts;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MarketStream.Ingest;

/// <summary>
/// The one Kafka consumer of a gateway (DESIGN.md decisions 1 to 3). It assigns every partition of the
/// tick topic, with no consumer group, so replicas never rebalance; it starts each partition a look-back
/// before its end and reports warm once it has read up to where the end was; it decodes each record and
/// writes it into the bounded <see cref="TickChannel"/>, waiting when it is full so that Kafka, not the
/// gateway's memory, holds any backlog.
/// </summary>
/// <remarks>
/// The consume loop is blocking, so it runs on a thread of its own. Broker outages are librdkafka's to
/// ride out (it reconnects by itself); the worker logs, counts and carries on. A fatal client error stops
/// the application loudly, since a gateway that silently stopped consuming would serve stale prices.
/// </remarks>
public sealed partial class KafkaIngestWorker : BackgroundService
{
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan LagInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan EpochAtStartTimeout = TimeSpan.FromSeconds(3);

    private readonly KafkaConnection connection;
    private readonly KafkaOptions options;
    private readonly TickChannel channel;
    private readonly IngestStats stats;
    private readonly IngestStatus status;
    private readonly StreamEpoch epoch;
    private readonly IHostApplicationLifetime lifetime;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly LogThrottle brokerErrorLog;
    private readonly LogThrottle rejectLog;
    private volatile Error? fatal;

    public KafkaIngestWorker(
        KafkaConnection connection,
        IOptions<KafkaOptions> options,
        TickChannel channel,
        IngestStats stats,
        IngestStatus status,
        StreamEpoch epoch,
        IHostApplicationLifetime lifetime,
        TimeProvider time,
        ILogger<KafkaIngestWorker> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.connection = connection;
        this.options = options.Value;
        this.channel = channel;
        this.stats = stats;
        this.status = status;
        this.epoch = epoch;
        this.lifetime = lifetime;
        this.time = time;
        this.logger = logger;
        brokerErrorLog = new LogThrottle(time, TimeSpan.FromSeconds(5));
        rejectLog = new LogThrottle(time, TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// Reads the stream epoch before the gateway starts taking connections (hosted services start before the
    /// server listens), so even a client that connects at once gets it in its hello. A cluster that does not
    /// answer within a few seconds does not hold the start up: the epoch is then set when the partitions are
    /// assigned.
    /// </summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (KafkaClusterId.Read(connection.Configure(new ClientConfig()), EpochAtStartTimeout) is { Length: > 0 } id)
            {
                epoch.Set(StreamEpoch.From(id, options.Topic));
            }
        }
        catch (InvalidOperationException ex)
        {
            LogEpochDeferred(logger, ex.Message);
        }

        return base.StartAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => Run(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken ct)
    {
        using var consumer = BuildConsumer();
        try
        {
            var snapshot = LoadSnapshot(consumer, ct);
            var warmTargets = AssignAllPartitions(consumer, ct);
            Consume(consumer, warmTargets, snapshot, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutdown.
        }
        catch (Exception ex) when (ex is KafkaException or InvalidOperationException)
        {
            status.MarkFatal(ex.Message);
            LogFatal(logger, ex, ex.Message);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
        finally
        {
            // Ends the market state's read loop too, whether we stop for shutdown or for a fault.
            channel.Writer.TryComplete();
            consumer.Close();
        }
    }

    private IConsumer<Ignore, DecodedTick> BuildConsumer()
    {
        var fetchWaitMaxMs = options.FetchWaitMaxMs ?? (connection.Embedded is null ? 100 : 2);
        var config = connection.Configure(new ConsumerConfig
        {
            // librdkafka wants a group id on a consumer even though we only Assign and never commit:
            // the id is never used to join a group, so replicas stay independent.
            GroupId = options.ClientId,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AllowAutoCreateTopics = false,
            EnablePartitionEof = true,

            // A position the broker no longer retains (the look-back start deleted between the query and the
            // fetch, or a consumer that fell further behind than retention) is handled in Consume: see Rejoin.
            AutoOffsetReset = AutoOffsetReset.Error,
            SocketNagleDisable = true,
            FetchWaitMaxMs = fetchWaitMaxMs,

            // A fetch is answered after at most its wait: one unanswered for the wait plus the shared timeout
            // is on a dead connection (see KafkaConnection.SocketTimeoutMs).
            SocketTimeoutMs = fetchWaitMaxMs + KafkaConnection.SocketTimeoutMs,

            // librdkafka's prefetch buffer defaults to 64 MB per client; 32 MB still covers several
            // seconds of a heavy market, and backpressure holds the rest in Kafka.
            QueuedMaxMessagesKbytes = 32 * 1024,

            // Per record the ingest reads partition, offset, value and headers (a producer's traceparent); not
            // marshalling the topic name and the timestamp saves a string and a native call per record.
            ConsumeResultFields = "headers",
        });

        return new ConsumerBuilder<Ignore, DecodedTick>(config)
            .SetValueDeserializer(new TickDeserializer())
            .SetErrorHandler(OnError)
            .SetLogHandler((_, m) => LogClient(logger, m.Facility, m.Message))
            .Build();
    }

    private void OnError(IConsumer<Ignore, DecodedTick> consumer, Error error)
    {
        if (error.IsFatal)
        {
            fatal = error;
            return;
        }

        stats.RecordBrokerError();
        status.MarkBrokerError(time.GetUtcNow());
        if (brokerErrorLog.ShouldLog(out var suppressed))
        {
            LogBrokerError(logger, error.Code, error.Reason, suppressed);
        }
    }

    /// <summary>Assigns every partition from a look-back before its end; returns the end offset each must reach to be warm.</summary>
    private Dictionary<int, long> AssignAllPartitions(IConsumer<Ignore, DecodedTick> consumer, CancellationToken ct)
    {
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        while (true)
        {
            var warmTargets = ReadMetadata(options.Topic, ct, () =>
            {
                var partitions = GetPartitions(admin, options.Topic);
                if (partitions.Count == 0)
                {
                    return null;
                }

                var assignment = new List<TopicPartitionOffset>(partitions.Count);
                var targets = new Dictionary<int, long>(partitions.Count);
                long lookback = 0;
                foreach (var partition in partitions)
                {
                    var tp = new TopicPartition(options.Topic, partition);
                    var marks = consumer.QueryWatermarkOffsets(tp, MetadataTimeout);
                    var start = LookbackStart(marks);
                    assignment.Add(new TopicPartitionOffset(tp, new Offset(start)));
                    lookback += marks.High.Value - start;
                    if (marks.High.Value > start)
                    {
                        targets[partition] = marks.High.Value;
                    }
                }

                // The stream epoch, before any record is read, if the start could not read it: sessions tell it in their hello.
                if (epoch.Value is null)
                {
                    epoch.Set(StreamEpoch.From(ClusterId(), options.Topic));
                }

                consumer.Assign(assignment);
                status.MarkBrokerContact(time.GetUtcNow());
                LogAssigned(logger, options.Topic, partitions.Count, lookback);
                return targets;
            });
            if (warmTargets is not null)
            {
                return warmTargets;
            }

            LogWaitingForTopic(logger, options.Topic);
            ct.WaitHandle.WaitOne(RetryDelay);
        }
    }

    /// <summary>
    /// Runs a metadata read until the brokers answer it: a non-fatal Kafka error (brokers not reachable yet) is
    /// counted, logged and retried after a pause, as librdkafka itself keeps trying.
    /// </summary>
    private T ReadMetadata<T>(string topic, CancellationToken ct, Func<T> read)
    {
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            ThrowIfFatal();
            try
            {
                return read();
            }
            catch (KafkaException ex) when (!ex.Error.IsFatal)
            {
                stats.RecordBrokerError();
                status.MarkBrokerError(time.GetUtcNow());
                LogMetadataRetry(logger, topic, ex.Error.Reason);
                ct.WaitHandle.WaitOne(RetryDelay);
            }
        }
    }

    /// <summary>The cluster's id; when it cannot be read (a broker too old to report one), the bootstrap servers stand in.</summary>
    private string ClusterId() =>
        KafkaClusterId.Read(connection.Configure(new ClientConfig()), MetadataTimeout) is { Length: > 0 } id ? id : connection.BootstrapServers;

    /// <summary>The topic's partition ids in order; empty when the topic does not exist.</summary>
    private static List<int> GetPartitions(IAdminClient admin, string topicName)
    {
        var metadata = admin.GetMetadata(topicName, MetadataTimeout);
        var topic = metadata.Topics.FirstOrDefault(t => t.Topic == topicName);
        if (topic is null || topic.Error.IsError)
        {
            return [];
        }

        return topic.Partitions.Select(p => p.PartitionId).Order().ToList();
    }

    /// <summary>
    /// Reads the compacted quotes topic from its start to where its end was, into the market state, before any tick
    /// partition: every symbol the deployment has seen is then known whole, however long ago it last ticked and
    /// whatever retention has left of the tick log. Returns the <c>seq</c> each symbol's quote reflects, so the
    /// look-back skips the ticks already in it. No quotes topic (nobody publishes one): the look-back alone, as before.
    /// </summary>
    private Dictionary<string, long> LoadSnapshot(IConsumer<Ignore, DecodedTick> consumer, CancellationToken ct)
    {
        var topic = connection.SnapshotTopic;
        var seqs = new Dictionary<string, long>(StringComparer.Ordinal);
        var startedAt = time.GetTimestamp();
        Dictionary<int, WatermarkOffsets> marks;
        using (var admin = new DependentAdminClientBuilder(consumer.Handle).Build())
        {
            // Each non-empty partition, read from its start to where its end is now.
            marks = ReadMetadata(topic, ct, () => GetPartitions(admin, topic)
                .Select(p => (Partition: p, Marks: consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), MetadataTimeout)))
                .Where(p => p.Marks.High.Value > p.Marks.Low.Value)
                .ToDictionary(p => p.Partition, p => p.Marks));
        }

        if (marks.Count == 0)
        {
            LogNoSnapshot(logger, topic);
            return seqs;
        }

        consumer.Assign(marks.Select(m => new TopicPartitionOffset(topic, m.Key, m.Value.Low)));
        var targets = marks.ToDictionary(m => m.Key, m => m.Value.High.Value);
        long records = 0, unreadable = 0;
        var writer = channel.Writer;
        while (targets.Count > 0)
        {
            if (Poll(consumer, rejoinLost: false, ct) is not { } result)
            {
                continue;
            }

            var partition = result.Partition.Value;
            if (result.IsPartitionEOF || result.Offset.Value + 1 >= targets.GetValueOrDefault(partition, long.MaxValue))
            {
                targets.Remove(partition);
                if (result.IsPartitionEOF)
                {
                    continue;
                }
            }

            var (reason, tick) = result.Message.Value;
            if (reason != TickRejectReason.None || !QuoteSnapshot.TryReadSeq(result.Message.Headers, out var seq))
            {
                unreadable++;
                continue;
            }

            // In the topic's order, so a symbol's later record (not compacted yet) comes after its earlier one.
            records++;
            seqs[tick!.Symbol] = seq;
            var envelope = new TickEnvelope(tick, SnapshotPartition, seq - 1, default);
            if (!writer.TryWrite(envelope))
            {
                writer.WriteAsync(envelope, ct).AsTask().GetAwaiter().GetResult();
            }
        }

        consumer.Unassign();
        LogSnapshotLoaded(logger, topic, seqs.Count, records, unreadable, time.GetElapsedTime(startedAt).TotalMilliseconds);
        return seqs;
    }

    /// <summary>The partition a quote from the quotes topic is said to come from (it is no tick partition's).</summary>
    public const int SnapshotPartition = -1;

    private void Consume(IConsumer<Ignore, DecodedTick> consumer, Dictionary<int, long> warmTargets, Dictionary<string, long> snapshot, CancellationToken ct)
    {
        var startedAt = time.GetTimestamp();
        var writer = channel.Writer;
        var lagMeasuredAt = startedAt;
        CheckWarm(warmTargets, startedAt);

        while (true)
        {
            if (time.GetElapsedTime(lagMeasuredAt) >= LagInterval)
            {
                lagMeasuredAt = time.GetTimestamp();
                stats.SetLag(MeasureLag(consumer));
            }

            if (Poll(consumer, rejoinLost: true, ct) is not { } result)
            {
                continue;
            }

            var partition = result.Partition.Value;
            if (result.IsPartitionEOF)
            {
                if (warmTargets.Remove(partition))
                {
                    CheckWarm(warmTargets, startedAt);
                }

                continue;
            }

            var offset = result.Offset.Value;
            if (warmTargets.TryGetValue(partition, out var target) && offset + 1 >= target)
            {
                warmTargets.Remove(partition);
                CheckWarm(warmTargets, startedAt);
            }

            stats.RecordConsumed();
            // Decoded by the consumer's value deserializer, straight from librdkafka's buffer.
            var (reason, tick) = result.Message.Value;
            if (reason != TickRejectReason.None)
            {
                stats.RecordRejected(reason);
                if (rejectLog.ShouldLog(out var suppressed))
                {
                    LogRejected(logger, reason.Name(), partition, offset, suppressed);
                }

                continue;
            }

            // A look-back tick the quotes topic already reflects is not applied twice. Once warm, every tick is
            // past the snapshot (it was read before the tick partitions were), and the map is let go.
            if (snapshot.Count > 0)
            {
                if (snapshot.TryGetValue(tick!.Symbol, out var reflected) && offset + 1 <= reflected)
                {
                    continue;
                }

                if (status.IsWarm)
                {
                    snapshot.Clear();
                }
            }

            var envelope = new TickEnvelope(tick!, partition, offset, ReadTraceParent(result.Message.Headers));
            if (!writer.TryWrite(envelope))
            {
                // Backpressure: block this (dedicated) thread until the market state catches up.
                stats.RecordChannelFullWait();
                writer.WriteAsync(envelope, ct).AsTask().GetAwaiter().GetResult();
            }
        }
    }

    /// <summary>
    /// One poll, bounded so that lag is measured and cancellation seen even when the topics are quiet. Null when
    /// nothing came or a non-fatal error was handled (logged and counted); with <paramref name="rejoinLost"/>, a
    /// position the broker no longer retains rejoins the partition (see <see cref="Rejoin"/>).
    /// </summary>
    private ConsumeResult<Ignore, DecodedTick>? Poll(IConsumer<Ignore, DecodedTick> consumer, bool rejoinLost, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        ThrowIfFatal();
        try
        {
            return consumer.Consume(PollInterval);
        }
        catch (ConsumeException ex) when (rejoinLost && ex.Error.Code == ErrorCode.Local_AutoOffsetReset && ex.ConsumerRecord is { } lost)
        {
            // The record's topic is not marshalled (ConsumeResultFields); it is the tick topic.
            Rejoin(consumer, new TopicPartition(options.Topic, lost.Partition), lost.Offset);
            return null;
        }
        catch (ConsumeException ex) when (!ex.Error.IsFatal)
        {
            OnError(consumer, ex.Error);
            return null;
        }
    }

    /// <summary>
    /// The partition's position is no longer retained by the broker: the records between it and what is left were
    /// deleted, so the gap is lost whatever the consumer does. Reading on from the earliest record left (the
    /// client's default) would chase a window that retention keeps moving: on a small or busy log the consumer
    /// never catches up. Instead the partition rejoins where a starting gateway begins, a look-back before its end,
    /// so the last values are current again at once; the jump is logged and counted.
    /// </summary>
    private void Rejoin(IConsumer<Ignore, DecodedTick> consumer, TopicPartition partition, Offset position)
    {
        var start = LookbackStart(consumer.QueryWatermarkOffsets(partition, MetadataTimeout));
        var skipped = position.IsSpecial ? 0 : Math.Max(0, start - position.Value);
        stats.RecordSkipped(skipped);
        LogRejoined(logger, partition.Partition.Value, position.Value, start, skipped);

        // After an offset-reset error librdkafka has stopped fetching the partition, and a seek is refused
        // ("erroneous state"): the partition is assigned afresh at the new start instead, leaving the others as they are.
        consumer.IncrementalUnassign([partition]);
        consumer.IncrementalAssign([new TopicPartitionOffset(partition, start)]);
    }

    /// <summary>Where a partition is read from when joining it: the configured look-back before its end, or its start.</summary>
    private long LookbackStart(WatermarkOffsets marks) => Math.Max(marks.Low.Value, marks.High.Value - options.LookbackMessages);

    /// <summary>
    /// Sum over partitions of the high watermark minus the position, from what the client already knows
    /// (the watermarks of its last fetch responses): no request to the brokers.
    /// </summary>
    private static long MeasureLag(IConsumer<Ignore, DecodedTick> consumer)
    {
        long total = 0;
        foreach (var tp in consumer.Assignment)
        {
            var high = consumer.GetWatermarkOffsets(tp).High;
            var position = consumer.Position(tp);
            if (high != Offset.Unset && position != Offset.Unset && high.Value > position.Value)
            {
                total += high.Value - position.Value;
            }
        }

        return total;
    }

    private void CheckWarm(Dictionary<int, long> pending, long startedAt)
    {
        if (pending.Count == 0 && !status.IsWarm)
        {
            status.MarkWarm();
            LogWarm(logger, time.GetElapsedTime(startedAt).TotalMilliseconds);
        }
    }

    private void ThrowIfFatal()
    {
        if (fatal is { } error)
        {
            throw new KafkaException(error);
        }
    }

    private static ActivityContext ReadTraceParent(Headers? headers)
    {
        if (headers is null || !headers.TryGetLastBytes("traceparent", out var bytes))
        {
            return default;
        }

        return ActivityContext.TryParse(Encoding.ASCII.GetString(bytes), null, out var context) ? context : default;
    }

    [LoggerMessage(EventId = 209, Level = LogLevel.Debug, Message = "The stream epoch is read when the partitions are assigned: {Reason}")]
    private static partial void LogEpochDeferred(ILogger logger, string reason);

    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Assigned all {Partitions} partitions of {Topic}; warming up from {Lookback} records of look-back")]
    private static partial void LogAssigned(ILogger logger, string topic, int partitions, long lookback);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Warm: caught up with every partition in {ElapsedMs:F0} ms")]
    private static partial void LogWarm(ILogger logger, double elapsedMs);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "Topic {Topic} not found yet; waiting for it")]
    private static partial void LogWaitingForTopic(ILogger logger, string topic);

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "Cannot read metadata of {Topic} yet ({Reason}); retrying")]
    private static partial void LogMetadataRetry(ILogger logger, string topic, string reason);

    [LoggerMessage(EventId = 204, Level = LogLevel.Warning, Message = "Kafka client error {Code}: {Reason} ({Suppressed} similar errors not logged); the client reconnects by itself")]
    private static partial void LogBrokerError(ILogger logger, ErrorCode code, string reason, long suppressed);

    [LoggerMessage(EventId = 205, Level = LogLevel.Debug, Message = "Skipped tick record at partition {Partition} offset {Offset}: {Reason} ({Suppressed} more skipped since the last such line)")]
    private static partial void LogRejected(ILogger logger, string reason, int partition, long offset, long suppressed);

    [LoggerMessage(EventId = 206, Level = LogLevel.Critical, Message = "Kafka ingest stopped on a fatal error: {Reason}. Stopping the gateway.")]
    private static partial void LogFatal(ILogger logger, Exception exception, string reason);

    [LoggerMessage(EventId = 208, Level = LogLevel.Warning, Message = "Partition {Partition}: position {Position} is no longer retained by the broker; rejoined at {Start} (look-back before the end), {Skipped} records skipped")]
    private static partial void LogRejoined(ILogger logger, int partition, long position, long start, long skipped);

    [LoggerMessage(EventId = 210, Level = LogLevel.Information, Message = "No quotes topic {Topic} (or it is empty): warming from the tick look-back alone")]
    private static partial void LogNoSnapshot(ILogger logger, string topic);

    [LoggerMessage(EventId = 211, Level = LogLevel.Information, Message = "Read the quotes topic {Topic}: {Symbols} symbols from {Records} records ({Unreadable} unreadable skipped) in {ElapsedMs:F0} ms")]
    private static partial void LogSnapshotLoaded(ILogger logger, string topic, int symbols, long records, long unreadable, double elapsedMs);

    [LoggerMessage(EventId = 207, Level = LogLevel.Debug, Message = "librdkafka {Facility}: {Message}")]
    private static partial void LogClient(ILogger logger, string facility, string message);
}
