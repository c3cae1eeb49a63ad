namespace MarketStream.Ingest;

/// <summary>
/// Lets a noisy log line through at most once per interval and counts what it held back, so a flood of
/// bad records or a broker outage cannot turn the log into the bottleneck. Not thread-safe: one per caller.
/// </summary>
public sealed class LogThrottle(TimeProvider time, TimeSpan interval)
{
    private long nextAllowed;
    private long suppressed;

    /// <summary>True when this occurrence should be logged; <paramref name="suppressedSinceLast"/> says how many were not.</summary>
    public bool ShouldLog(out long suppressedSinceLast)
    {
        var now = time.GetTimestamp();
        if (now >= nextAllowed)
        {
            nextAllowed = now + (long)(interval.TotalSeconds * time.TimestampFrequency);
            suppressedSinceLast = suppressed;
            suppressed = 0;
            return true;
        }

        suppressed++;
        suppressedSinceLast = 0;
        return false;
    }
}
