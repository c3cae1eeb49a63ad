using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;

namespace MarketStream.Gateway.Telemetry;

/// <summary>
/// The operations dashboard's data: the same instruments <c>/metrics</c> exports (this gateway's meters, read with
/// a <see cref="MeterListener"/>), as one JSON-ready snapshot: counters as running totals (the page turns them into
/// rates), gauges as their last value, histograms as cumulative bucket counts. It listens only while someone
/// looks: the first request switches it on, and a minute without one switches it off, so an unwatched gateway
/// pays nothing per measurement.
/// </summary>
public sealed class DashboardSampler(IMeterFactory meters, TimeProvider time) : IDisposable
{
    /// <summary>Upper bounds of the latency histograms' buckets, in seconds: the Prometheus view's.</summary>
    public static IReadOnlyList<double> LatencyBounds => TelemetryExtensions.LatencyBounds;

    private static readonly TimeSpan IdleAfter = TimeSpan.FromMinutes(1);
    private readonly Lock gate = new();
    private readonly ConcurrentDictionary<string, Series> series = new(StringComparer.Ordinal);
    private MeterListener? listener;
    private ITimer? idleCheck;
    private long lastReadAt;

    /// <summary>Whether the listener is on (someone read a snapshot within the last minute).</summary>
    public bool IsListening => Volatile.Read(ref listener) is not null;

    /// <summary>Reads every instrument now. Keys are "name" or "name{tag=value}", as in /metrics.</summary>
    public IReadOnlyDictionary<string, object> Snapshot()
    {
        lock (gate)
        {
            lastReadAt = time.GetTimestamp();
            if (listener is null)
            {
                listener = new MeterListener { InstrumentPublished = Publish };
                listener.SetMeasurementEventCallback<long>((i, v, tags, s) => ((Recorder)s!).Record(v, tags));
                listener.SetMeasurementEventCallback<int>((i, v, tags, s) => ((Recorder)s!).Record(v, tags));
                listener.SetMeasurementEventCallback<double>((i, v, tags, s) => ((Recorder)s!).Record(v, tags));
                listener.Start();
                idleCheck ??= time.CreateTimer(static s => ((DashboardSampler)s!).StopIfIdle(), this, IdleAfter, IdleAfter);
            }

            listener.RecordObservableInstruments();
        }

        var result = new SortedDictionary<string, object>(StringComparer.Ordinal);
        foreach (var (key, value) in series)
        {
            result[key] = value.Read();
        }

        return result;
    }

    /// <summary>Switches the listener off after a minute without a reader; checked every minute while it is on.</summary>
    public void StopIfIdle()
    {
        lock (gate)
        {
            if (listener is not null && time.GetElapsedTime(lastReadAt) >= IdleAfter)
            {
                listener.Dispose();
                listener = null;
                series.Clear();
            }
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            idleCheck?.Dispose();
            listener?.Dispose();
            listener = null;
        }
    }

    private void Publish(Instrument instrument, MeterListener l)
    {
        // This gateway's meters only: tests run several gateways in one process.
        if (instrument.Meter.Scope == meters && instrument.Meter.Name.StartsWith("MarketStream.", StringComparison.Ordinal))
        {
            l.EnableMeasurementEvents(instrument, new Recorder(this, instrument));
        }
    }

    private static string Key(string name, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return name;
        }

        var parts = new string[tags.Length];
        for (var i = 0; i < tags.Length; i++)
        {
            parts[i] = $"{tags[i].Key}={Convert.ToString(tags[i].Value, CultureInfo.InvariantCulture)}";
        }

        Array.Sort(parts, StringComparer.Ordinal);
        return $"{name}{{{string.Join(',', parts)}}}";
    }

    /// <summary>Turns one instrument's measurements into series, by tag set.</summary>
    private sealed class Recorder(DashboardSampler owner, Instrument instrument)
    {
        private readonly string name = instrument.Name;
        private readonly Kind kind = instrument switch
        {
            Histogram<double> or Histogram<long> or Histogram<int> => Kind.Histogram,
            Counter<long> or Counter<int> or Counter<double> or UpDownCounter<long> or UpDownCounter<int> or UpDownCounter<double> => Kind.Sum,
            _ => Kind.Last, // observable gauges and counters report their current value
        };

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
            owner.series.GetOrAdd(Key(name, tags), static (_, k) => new Series(k), kind).Add(value);
    }

    private enum Kind
    {
        Sum,
        Last,
        Histogram,
    }

    private sealed class Series(Kind kind)
    {
        private readonly Lock gate = new();
        private readonly long[]? buckets = kind == Kind.Histogram ? new long[TelemetryExtensions.LatencyBounds.Length + 1] : null;
        private double value;
        private long count;

        public void Add(double measurement)
        {
            lock (gate)
            {
                switch (kind)
                {
                    case Kind.Sum:
                        value += measurement;
                        break;
                    case Kind.Last:
                        value = measurement;
                        break;
                    default:
                        var i = Array.BinarySearch(TelemetryExtensions.LatencyBounds, measurement);
                        buckets![i >= 0 ? i : ~i]++;
                        count++;
                        break;
                }
            }
        }

        public object Read()
        {
            lock (gate)
            {
                return buckets is null ? value : new { count, buckets = buckets.ToArray() };
            }
        }
    }
}
