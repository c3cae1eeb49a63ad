namespace MarketStream.Ingest;

/// <summary>
/// Where the ingest stands, for readiness and diagnostics. Written by the consumer thread, read by
/// anyone.
/// </summary>
public sealed class IngestStatus
{
    private readonly TaskCompletionSource warm = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long lastBrokerErrorTicks;
    private long lastBrokerContactTicks;
    private volatile string? fatalError;

    /// <summary>True once every partition has been read up to where its end was at start.</summary>
    public bool IsWarm => warm.Task.IsCompleted;

    /// <summary>Completes when <see cref="IsWarm"/> turns true.</summary>
    public Task WarmedUp => warm.Task;

    /// <summary>The reason the ingest stopped for good, if it did.</summary>
    public string? FatalError => fatalError;

    /// <summary>When the consumer last reported that it could not reach the brokers, if ever.</summary>
    public DateTimeOffset? LastBrokerError
    {
        get
        {
            var ticks = Interlocked.Read(ref lastBrokerErrorTicks);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>When the brokers last answered (a metadata request, a fetch), if ever.</summary>
    public DateTimeOffset? LastBrokerContact
    {
        get
        {
            var ticks = Interlocked.Read(ref lastBrokerContactTicks);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>
    /// How long the brokers have been silent, when that is longer than <paramref name="grace"/>; null while they
    /// answer within it, and before the first contact (a starting gateway is warming up, not cut off). Readiness
    /// and the dashboard read this one rule.
    /// </summary>
    public TimeSpan? UnreachableFor(DateTimeOffset now, TimeSpan grace) =>
        LastBrokerContact is { } contact && now - contact > grace ? now - contact : null;

    internal void MarkBrokerContact(DateTimeOffset at) => Interlocked.Exchange(ref lastBrokerContactTicks, at.UtcTicks);

    internal void MarkWarm() => warm.TrySetResult();

    internal void MarkBrokerError(DateTimeOffset at) => Interlocked.Exchange(ref lastBrokerErrorTicks, at.UtcTicks);

    internal void MarkFatal(string reason) => fatalError = reason;
}
