using HdrHistogram;

namespace MarketStream.LoadTests;

/// <summary>
/// Latency of delivered quotes (receive time minus the quote's <c>ts</c>), in microseconds, recorded
/// wait-free from every client's receive loop: a histogram for the whole measured window and one for the
/// current sampling interval, which the sampler reads and resets.
/// </summary>
internal sealed class LatencyRecorder
{
    // 1 µs to 1 hour at 3 significant digits: a latency is never off by more than 0.1 %.
    private const long Highest = 3_600_000_000;

    public LongConcurrentHistogram Total { get; } = New();

    private LongConcurrentHistogram interval = New();

    public static LongConcurrentHistogram New() => new(1, Highest, 3);

    public void Record(long micros)
    {
        var v = Math.Clamp(micros, 1, Highest);
        Total.RecordValue(v);
        interval.RecordValue(v);
    }

    /// <summary>Swaps in a fresh interval histogram and returns the finished one (a few values in flight may land in either).</summary>
    public LongConcurrentHistogram TakeInterval() => Interlocked.Exchange(ref interval, New());
}

/// <summary>The summary of a latency histogram, in milliseconds, as reports show it.</summary>
internal sealed record LatencySummary(long Count, double P50, double P90, double P99, double P999, double Max, double Mean)
{
    public static LatencySummary From(HistogramBase h) => h.TotalCount == 0
        ? new LatencySummary(0, 0, 0, 0, 0, 0, 0)
        : new LatencySummary(
            h.TotalCount,
            Ms(h.GetValueAtPercentile(50)),
            Ms(h.GetValueAtPercentile(90)),
            Ms(h.GetValueAtPercentile(99)),
            Ms(h.GetValueAtPercentile(99.9)),
            Ms(h.GetMaxValue()),
            h.GetMean() / 1000.0);

    private static double Ms(long micros) => micros / 1000.0;
}

/// <summary>Points of a percentile curve (percentile, latency ms), as HdrHistogram's plotter draws them.</summary>
internal static class PercentileCurve
{
    public static List<(double Percentile, double Ms)> From(HistogramBase h)
    {
        var points = new List<(double, double)>();
        if (h.TotalCount == 0)
        {
            return points;
        }

        // Dense toward the tail: 1 - p halves each step, the way `OutputPercentileDistribution` walks it.
        for (var missing = 0.5; missing >= 1e-6; missing /= Math.Sqrt(2))
        {
            var p = 100 * (1 - missing);
            points.Add((p, h.GetValueAtPercentile(p) / 1000.0));
        }

        points.Insert(0, (0, h.GetValueAtPercentile(0) / 1000.0));
        points.Add((100, h.GetMaxValue() / 1000.0));
        return points;
    }
}
