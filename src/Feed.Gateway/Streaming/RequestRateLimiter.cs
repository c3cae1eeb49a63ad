namespace MarketStream.Gateway.Streaming;

/// <summary>
/// Token bucket for one connection's requests: <c>rate</c> tokens a second, bursts up to twice that. Reads an
/// injected clock, so tests drive it without sleeping. Not thread-safe: one receive loop uses it.
/// </summary>
internal sealed class RequestRateLimiter
{
    private readonly TimeProvider time;
    private readonly double rate;
    private readonly double burst;
    private double tokens;
    private long last;

    public RequestRateLimiter(TimeProvider time, int requestsPerSecond)
    {
        this.time = time;
        rate = requestsPerSecond;
        burst = requestsPerSecond * 2.0;
        tokens = burst;
        last = time.GetTimestamp();
    }

    public bool TryAcquire()
    {
        var now = time.GetTimestamp();
        tokens = Math.Min(burst, tokens + (time.GetElapsedTime(last, now).TotalSeconds * rate));
        last = now;
        if (tokens < 1)
        {
            return false;
        }

        tokens--;
        return true;
    }
}
