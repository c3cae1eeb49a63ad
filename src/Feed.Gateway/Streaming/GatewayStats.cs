using System.Diagnostics.Metrics;
using MarketStream.Contracts;
using MarketStream.Gateway.Telemetry;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// Instruments of the streaming side, on the <c>MarketStream.Gateway</c> meter. Tags come from closed sets
/// (policy, close code, message type), all made by <see cref="MetricTags"/>; never a symbol or a session. Counters are also kept as plain
/// longs for tests and diagnostics.
/// </summary>
public sealed class GatewayStats
{
    public const string MeterName = "MarketStream.Gateway";

    private readonly Counter<long> frames;
    private readonly Counter<long> quotes;
    private readonly Counter<long> bytes;
    private readonly Counter<long> wireBytes;
    private readonly Counter<long> conflated;
    private readonly Counter<long> dropped;
    private readonly Counter<long> disconnects;
    private readonly Histogram<double> sendDuration;
    private readonly Histogram<double> tickToSend;
    private long connections;
    private long quotesSent;
    private long quotesDropped;
    private long quotesConflated;

    public GatewayStats(IMeterFactory meterFactory, SubscriptionIndex index)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(index);
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableUpDownCounter("marketstream.gateway.connections", () => Connections, "{connection}", "Open client connections.");
        meter.CreateObservableUpDownCounter("marketstream.gateway.subscriptions", () => index.SubscriptionCount, "{subscription}", "Symbol subscriptions over all connections.");
        frames = meter.CreateCounter<long>("marketstream.gateway.frames_sent", "{frame}", "Messages sent to clients, by type.");
        quotes = meter.CreateCounter<long>("marketstream.gateway.quotes_sent", "{quote}", "Quotes sent to clients in updates frames.");
        bytes = meter.CreateCounter<long>("marketstream.gateway.bytes_sent", "By", "Payload bytes sent to clients.");
        wireBytes = meter.CreateCounter<long>("marketstream.gateway.wire_bytes_sent", "By", "Payload bytes sent to clients as they went on the wire: compressed where permessage-deflate was negotiated, else as bytes_sent.");
        conflated = meter.CreateCounter<long>("marketstream.gateway.quotes_conflated", "{quote}", "Quotes replaced by a newer one before they were sent (policy conflate).");
        dropped = meter.CreateCounter<long>("marketstream.gateway.quotes_dropped", "{quote}", "Quotes discarded by a drop policy, by policy.");
        disconnects = meter.CreateCounter<long>("marketstream.gateway.disconnects", "{connection}", "Closed connections, by close code (codes the protocol does not name, chosen by clients, count as \"client\").");
        sendDuration = meter.CreateHistogram<double>("marketstream.gateway.send_duration", "s", "Time to hand one frame to the transport.");
        tickToSend = meter.CreateHistogram<double>("marketstream.gateway.tick_to_send_latency", "s", "Per updates frame: from the event time (ts) of the oldest quote it carries to the frame being handed to the transport.");
    }

    public long Connections => Interlocked.Read(ref connections);

    public long QuotesSent => Interlocked.Read(ref quotesSent);

    public long QuotesDropped => Interlocked.Read(ref quotesDropped);

    public long QuotesConflated => Interlocked.Read(ref quotesConflated);

    internal void ConnectionOpened() => Interlocked.Increment(ref connections);

    internal void ConnectionClosed(int closeCode)
    {
        Interlocked.Decrement(ref connections);
        disconnects.Add(1, MetricTags.CloseCode(closeCode));
    }

    internal void ConnectionRefused() => disconnects.Add(1, MetricTags.CloseCode(CloseCodes.TryAgainLater));

    /// <summary>One message handed to the transport.</summary>
    internal void FrameSent(string type, int byteCount, int wireByteCount, TimeSpan duration)
    {
        // Instruments nobody listens to cost nothing: no tag list, no clock arithmetic.
        if (frames.Enabled)
        {
            frames.Add(1, MetricTags.MessageType(type));
        }

        if (bytes.Enabled)
        {
            bytes.Add(byteCount);
        }

        if (wireBytes.Enabled)
        {
            wireBytes.Add(wireByteCount);
        }

        if (sendDuration.Enabled)
        {
            sendDuration.Record(duration.TotalSeconds);
        }
    }

    /// <summary>
    /// One <c>updates</c> frame: its quotes, the ticks conflated into them, and one latency sample, the age of
    /// the frame's oldest quote (now minus the smallest <c>ts</c> it carries), so the figure is the stalest
    /// price a client was handed, counted once per frame rather than once per quote.
    /// </summary>
    internal void UpdatesSent(int quoteCount, int conflatedTicks, long oldestTs, long nowMicros)
    {
        Interlocked.Add(ref quotesSent, quoteCount);
        if (quotes.Enabled)
        {
            quotes.Add(quoteCount);
        }

        if (conflatedTicks > 0)
        {
            Interlocked.Add(ref quotesConflated, conflatedTicks);
            if (conflated.Enabled)
            {
                conflated.Add(conflatedTicks);
            }
        }

        if (tickToSend.Enabled)
        {
            tickToSend.Record(Math.Max(0, nowMicros - oldestTs) / 1_000_000.0);
        }
    }

    /// <summary>A quote discarded by a drop policy (not on the conflate path: one event per drop).</summary>
    internal void QuoteDropped(DeliveryPolicy policy)
    {
        Interlocked.Increment(ref quotesDropped);
        dropped.Add(1, MetricTags.Policy(policy));
    }
}
