namespace MarketStream.Client;

/// <summary>
/// Exponential backoff with jitter: attempt <c>n</c> (from 0) waits <c>min(max, initial × 2^n)</c>, of which
/// the <c>jitter</c> share is random. Without the random part, every client of a drained or restarted gateway
/// would come back in the same instant, again and again.
/// </summary>
internal sealed class Backoff(TimeSpan initial, TimeSpan max, double jitter, Random random)
{
    /// <summary>The wait before reconnect attempt <paramref name="attempt"/> (0 for the first reconnect).</summary>
    public TimeSpan Delay(int attempt)
    {
        // Past 2^30 the cap has long been reached; stop doubling before the arithmetic overflows.
        var factor = Math.Pow(2, Math.Min(attempt, 30));
        var nominal = Math.Min(max.Ticks, initial.Ticks * factor);

        // Share of the wait that is random: with jitter 0.5 a wait lies in [nominal / 2, nominal].
        var ticks = nominal * (1 - (jitter * random.NextDouble()));
        return TimeSpan.FromTicks((long)ticks);
    }
}
