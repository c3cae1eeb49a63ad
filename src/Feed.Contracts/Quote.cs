namespace MarketStream.Contracts;

/// <summary>
/// The merged state of one symbol: every field known so far, and the <see cref="Seq"/> of the last tick
/// merged into it. Immutable, so one instance can be handed to many sessions without copying or locking;
/// a merge makes a new one.
/// </summary>
/// <remarks>
/// Equality is over what the protocol carries (symbol, seq, ts, prices, sizes, venue); <see cref="Version"/>
/// and the cached wire body are bookkeeping of the gateway that holds the quote, not part of its value.
/// </remarks>
public sealed record Quote
{
    // The quote's wire form, written once by the first sender that needs it and then shared by every frame
    // that carries the quote (DESIGN.md decision 6). Never copied by `with`: a changed copy is another quote.
    private byte[]? utf8Body;

    public Quote()
    {
    }

    private Quote(Quote original)
    {
        Symbol = original.Symbol;
        Seq = original.Seq;
        Ts = original.Ts;
        Bid = original.Bid;
        Ask = original.Ask;
        Last = original.Last;
        BidSize = original.BidSize;
        AskSize = original.AskSize;
        LastSize = original.LastSize;
        Venue = original.Venue;
        Version = original.Version;
    }

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

    /// <summary>
    /// How many ticks of this symbol were merged to make this state, counted by the process that merged them
    /// (1 for the first). Two quotes of one symbol from one market state differ by the ticks between them, so a
    /// session knows how many it conflated from the versions alone, without counting per tick.
    /// </summary>
    public long Version { get; init; }

    /// <summary>
    /// The quote as the protocol's quote object without its closing brace (<c>{"symbol":…,"venue":"XNAS"</c>),
    /// so per-client fields (<c>conflated</c>, <c>dropped</c>) can follow. Written on first use, then shared.
    /// </summary>
    public ReadOnlySpan<byte> Utf8Body => Volatile.Read(ref utf8Body) ?? WriteBody();

    private byte[] WriteBody()
    {
        // Two senders may race to write the same bytes; either result is right, and one of them is kept.
        var body = QuoteWriter.Body(this);
        return Interlocked.CompareExchange(ref utf8Body, body, null) ?? body;
    }

    public bool Equals(Quote? other) =>
        other is not null
        && Symbol == other.Symbol && Seq == other.Seq && Ts == other.Ts
        && Bid == other.Bid && Ask == other.Ask && Last == other.Last
        && BidSize == other.BidSize && AskSize == other.AskSize && LastSize == other.LastSize
        && Venue == other.Venue;

    public override int GetHashCode() => HashCode.Combine(Symbol, Seq, Ts, Bid, Ask, Last);

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
            Version = 1,
        };
    }

    /// <summary>The whole quote as one tick carrying every field it holds: what the compacted quotes topic stores.</summary>
    public Tick ToTick() => new()
    {
        Symbol = Symbol,
        Ts = Ts,
        Bid = Bid,
        Ask = Ask,
        Last = Last,
        BidSize = BidSize,
        AskSize = AskSize,
        LastSize = LastSize,
        Venue = Venue,
    };

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
            Version = Version + 1,
        };
    }
}
