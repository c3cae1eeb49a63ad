namespace MarketStream.Client;

/// <summary>Running totals of one <see cref="FeedClient"/>, for dashboards and load tests. Thread-safe reads.</summary>
public sealed class FeedClientCounters
{
    private long received;
    private long outOfOrder;
    private long coalesced;
    private long bufferDropped;
    private long connects;
    private long staleDetections;
    private long epochChanges;

    /// <summary>Quotes received from the server (snapshots and updates), before any filtering.</summary>
    public long QuotesReceived => Interlocked.Read(ref received);

    /// <summary>Quotes discarded because their <c>seq</c> was not newer than the last one seen for the symbol (replays after a reconnect).</summary>
    public long QuotesNotNewer => Interlocked.Read(ref outOfOrder);

    /// <summary>Quotes replaced in the client buffer by a newer quote of the same symbol before the reader took them.</summary>
    public long QuotesCoalesced => Interlocked.Read(ref coalesced);

    /// <summary>Quotes discarded because the buffer held <see cref="FeedClientOptions.BufferCapacity"/> symbols.</summary>
    public long BufferDropped => Interlocked.Read(ref bufferDropped);

    /// <summary>Connections established (a <c>hello</c> received); one more than the reconnects.</summary>
    public long Connects => Interlocked.Read(ref connects);

    /// <summary>Connections dropped because they went stale.</summary>
    public long StaleDetections => Interlocked.Read(ref staleDetections);

    /// <summary>Times the stream's epoch changed between two connections (another cluster or a recreated topic): each reset the <c>seq</c> comparisons.</summary>
    public long EpochChanges => Interlocked.Read(ref epochChanges);

    internal void QuoteReceived() => Interlocked.Increment(ref received);

    internal void QuoteNotNewer() => Interlocked.Increment(ref outOfOrder);

    internal void QuoteCoalesced() => Interlocked.Increment(ref coalesced);

    internal void QuoteDroppedFromBuffer() => Interlocked.Increment(ref bufferDropped);

    internal void Connected() => Interlocked.Increment(ref connects);

    internal void StaleDetected() => Interlocked.Increment(ref staleDetections);

    internal void EpochChanged() => Interlocked.Increment(ref epochChanges);
}
