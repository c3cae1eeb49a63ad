using System.Diagnostics.Metrics;
using MarketStream.Contracts;

namespace MarketStream.Ingest;

/// <summary>
/// Counters of the ingest. Kept as plain interlocked longs, so the hot path pays one atomic add, and
/// published as observable instruments on the <c>MarketStream.Ingest</c> meter.
/// </summary>
public sealed class IngestStats
{
    public const string MeterName = "MarketStream.Ingest";

    private readonly long[] rejected = new long[Enum.GetValues<TickRejectReason>().Length];
    private long consumed;
    private long brokerErrors;
    private long channelFullWaits;
    private long lag;
    private long skipped;

    public IngestStats(IMeterFactory meterFactory, TickChannel channel)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(channel);
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableCounter("marketstream.ingest.ticks_consumed", () => Consumed, "{tick}",
            "Tick records read from Kafka, valid or not.");
        meter.CreateObservableCounter("marketstream.ingest.ticks_rejected", ObserveRejected, "{tick}",
            "Tick records skipped, by reason.");
        meter.CreateObservableCounter("marketstream.ingest.broker_errors", () => BrokerErrors, "{error}",
            "Errors reported by the Kafka client (broker unreachable, transport failures).");
        meter.CreateObservableCounter("marketstream.ingest.channel_full_waits", () => ChannelFullWaits, "{wait}",
            "Times the consumer waited because the ingest channel was full (backpressure into Kafka).");
        meter.CreateObservableCounter("marketstream.ingest.ticks_skipped", () => Skipped, "{tick}",
            "Tick records jumped over after the consumer fell further behind than the broker retains.");
        meter.CreateObservableGauge("marketstream.ingest.channel_depth", () => channel.Count, "{tick}",
            "Ticks waiting in the ingest channel.");
        meter.CreateObservableGauge("marketstream.ingest.consumer_lag", () => Lag, "{tick}",
            "Records in Kafka not yet consumed, over all partitions (high watermark minus position).");
    }

    public long Consumed => Interlocked.Read(ref consumed);

    public long BrokerErrors => Interlocked.Read(ref brokerErrors);

    public long ChannelFullWaits => Interlocked.Read(ref channelFullWaits);

    /// <summary>Records jumped over when the consumer's position was no longer retained by the broker.</summary>
    public long Skipped => Interlocked.Read(ref skipped);

    /// <summary>Records behind the end of the topic, summed over partitions, as last measured.</summary>
    public long Lag => Interlocked.Read(ref lag);

    public long Rejected(TickRejectReason reason) => Interlocked.Read(ref rejected[(int)reason]);

    public long RejectedTotal => TickRejectReasons.All.Sum(Rejected);

    public void RecordConsumed() => Interlocked.Increment(ref consumed);

    public void RecordRejected(TickRejectReason reason) => Interlocked.Increment(ref rejected[(int)reason]);

    internal void RecordBrokerError() => Interlocked.Increment(ref brokerErrors);

    internal void SetLag(long value) => Interlocked.Exchange(ref lag, value);

    internal void RecordChannelFullWait() => Interlocked.Increment(ref channelFullWaits);

    internal void RecordSkipped(long count) => Interlocked.Add(ref skipped, count);

    private IEnumerable<Measurement<long>> ObserveRejected()
    {
        foreach (var reason in TickRejectReasons.All)
        {
            yield return new Measurement<long>(Rejected(reason), new KeyValuePair<string, object?>("reason", reason.Name()));
        }
    }
}
