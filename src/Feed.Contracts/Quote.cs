namespace MarketStream.Contracts;

/// <summary>
/// The merged state of one symbol: every field known so far, and the <see cref="Seq"/> of the last tick
/// merged into it. Immutable, so one instance can be handed to many sessions without copying or locking;
/// a merge makes a new one.
/// </summary>
public sealed record Quote
{
    public required string Symbol { get; init; }

    /// <summary>Strictly increasing per symbol; derived from the tick's Kafka position, so equal on every replica.</summary>
    public required long Seq { get; init; }

    /// <summary>Event time of the last merged tick, Unix epoch microseconds.</summary>
    public required long Ts { get; init; }

    public decimal? Bid { get; init; }

    public decimal? Ask { get; init; }

    public decimal? Last { get; init; }

    public long? BidSize { get; init; }

    public long? AskSize { get; init; }

    public long? LastSize { get; init; }

    public string? Venue { get; init; }

    /// <summary>The first state of a symbol: the tick's own fields.</summary>
    public static Quote From(Tick tick, long seq)
    {
        ArgumentNullException.ThrowIfNull(tick);
        return new Quote
        {
            Symbol = tick.Symbol,
            Seq = seq,
            Ts = tick.Ts,
            Bid = tick.Bid,
            Ask = tick.Ask,
            Last = tick.Last,
            BidSize = tick.BidSize,
            AskSize = tick.AskSize,
            LastSize = tick.LastSize,
            Venue = tick.Venue,
        };
    }

    /// <summary>
    /// Merges a later tick of the same symbol into this state: a field the tick carries replaces the
    /// old value, a field it omits keeps it (PROTOCOL.md section 1).
    /// </summary>
    public Quote Merge(Tick tick, long seq)
    {
        ArgumentNullException.ThrowIfNull(tick);
        return new Quote
        {
            Symbol = Symbol,
            Seq = seq,
            Ts = tick.Ts,
            Bid = tick.Bid ?? Bid,
            Ask = tick.Ask ?? Ask,
            Last = tick.Last ?? Last,
            BidSize = tick.BidSize ?? BidSize,
            AskSize = tick.AskSize ?? AskSize,
            LastSize = tick.LastSize ?? LastSize,
            Venue = tick.Venue ?? Venue,
        };
    }
}
