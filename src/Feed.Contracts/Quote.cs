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
    private QuoteBody? body;

    // The body's bytes again, one reference away, for the frames that need only them (no compressor).
    private byte[]? utf8Body;

    private FieldValues values;

    // Changed-fields bodies of this quote against earlier quotes of its symbol (the delta extension), written once
    // and shared by every client that had the same earlier quote: under a throttle most clients of a symbol were
    // sent the same one. Keyed by the earlier quote's seq and version, never by reference, so a quote does not keep
    // its predecessors alive. Kept in the quote itself, the keys side by side: finding a body reads the quote the
    // sender holds and the body, no object in between.
    private DeltaKeys deltaKeys;
    private DeltaBodies deltaBodies;
    private int deltaNext;

    public Quote()
    {
    }

    private Quote(Quote original)
    {
        Symbol = original.Symbol;
        Seq = original.Seq;
        Ts = original.Ts;
        values = original.values;
        Version = original.Version;
    }

    public required string Symbol { get; init; }

    /// <summary>Strictly increasing per symbol; derived from the tick's Kafka position, so equal on every replica.</summary>
    public required long Seq { get; init; }

    /// <summary>Event time of the last merged tick, Unix epoch microseconds.</summary>
    public required long Ts { get; init; }

    /// <summary>The optional fields (<see cref="QuoteFields"/>), by index; absent where no tick has carried one yet.</summary>
    internal FieldValues Values
    {
        get => values;
        init => values = value;
    }

    public decimal? Bid { get => values[QuoteFields.Bid.Index].AsDecimal(); init => values[QuoteFields.Bid.Index] = FieldValue.Of(value); }

    public decimal? Ask { get => values[QuoteFields.Ask.Index].AsDecimal(); init => values[QuoteFields.Ask.Index] = FieldValue.Of(value); }

    public decimal? Last { get => values[QuoteFields.Last.Index].AsDecimal(); init => values[QuoteFields.Last.Index] = FieldValue.Of(value); }

    public long? BidSize { get => values[QuoteFields.BidSize.Index].AsInt64(); init => values[QuoteFields.BidSize.Index] = FieldValue.Of(value); }

    public long? AskSize { get => values[QuoteFields.AskSize.Index].AsInt64(); init => values[QuoteFields.AskSize.Index] = FieldValue.Of(value); }

    public long? LastSize { get => values[QuoteFields.LastSize.Index].AsInt64(); init => values[QuoteFields.LastSize.Index] = FieldValue.Of(value); }

    public string? Venue { get => values[QuoteFields.Venue.Index].AsText(); init => values[QuoteFields.Venue.Index] = FieldValue.Of(value); }

    /// <summary>
    /// How many ticks of this symbol were merged to make this state, counted by the process that merged them
    /// (1 for the first). Two quotes of one symbol from one market state differ by the ticks between them, so a
    /// session knows how many it conflated from the versions alone, without counting per tick.
    /// </summary>
    public long Version { get; init; }

    /// <summary>Which state of its symbol this quote is (<see cref="Seq"/> and <see cref="Version"/>), as a value to keep beside a reference to it.</summary>
    public QuoteKey Key => new(Seq, Version);

    /// <summary>
    /// The quote as the protocol's quote object without its closing brace (<c>{"symbol":…,"venue":"XNAS"</c>),
    /// so per-client fields (<c>conflated</c>, <c>dropped</c>) can follow. Written on first use, then shared.
    /// </summary>
    public ReadOnlyMemory<byte> Utf8Body => Volatile.Read(ref utf8Body) ?? Body.Bytes;

    /// <summary>The quote's body (<see cref="Utf8Body"/>) with where each name starts. Written on first use, then shared.</summary>
    public QuoteBody Body => Volatile.Read(ref body) ?? WriteBody();

    private QuoteBody WriteBody()
    {
        // Two senders may race to write the same bytes; either result is right, and one of them is kept.
        var written = QuoteWriter.Body(this);
        var kept = Interlocked.CompareExchange(ref body, written, null) ?? written;
        Volatile.Write(ref utf8Body, kept.Bytes);
        return kept;
    }

    /// <summary>
    /// The quote as the <c>delta</c> extension writes it against <paramref name="baseline"/> (only the fields written
    /// differently), without its closing brace, as <see cref="Utf8Body"/>. Written on first use for each baseline,
    /// then shared; a few baselines are remembered.
    /// </summary>
    public ReadOnlyMemory<byte> Utf8DeltaBody(Quote baseline) => DeltaBody(baseline).Utf8;

    /// <summary>The changed-fields body against <paramref name="baseline"/> (<see cref="Utf8DeltaBody"/>) with where each name starts.</summary>
    public QuoteBody DeltaBody(Quote baseline)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        return DeltaBody(baseline, baseline.Key);
    }

    /// <summary>
    /// <see cref="DeltaBody(Quote)"/>, with the baseline's <see cref="Key"/> as the caller kept it beside the
    /// baseline: a body already written is found without reading the baseline (an older quote, seldom still in the
    /// processor's cache), which is read only to write a new one.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="baselineKey"/> is not <paramref name="baseline"/>'s key.</exception>
    public QuoteBody DeltaBody(Quote baseline, QuoteKey baselineKey)
    {
        ArgumentNullException.ThrowIfNull(baseline);

        // The keys sit together, so finding the body means reading one line; the body itself confirms the match (a
        // key and its body are written one after the other, so a reader can see a key with the body before it).
        var key = DeltaKeyOf(baselineKey);
        for (var i = 0; i < DeltaSlots; i++)
        {
            if (Volatile.Read(ref deltaKeys[i]) == key && Volatile.Read(ref deltaBodies[i]) is { } entry
                && entry.BaselineSeq == baselineKey.Seq && entry.BaselineVersion == baselineKey.Version)
            {
                return entry;
            }
        }

        if (baseline.Key != baselineKey)
        {
            throw new ArgumentException($"a baseline of seq {baseline.Seq} and version {baseline.Version} was given the key of seq {baselineKey.Seq} and version {baselineKey.Version}", nameof(baselineKey));
        }

        var written = QuoteWriter.DeltaBody(this, baseline);
        var slot = (int)((uint)Interlocked.Increment(ref deltaNext) % DeltaSlots);
        Volatile.Write(ref deltaBodies[slot], written);
        Volatile.Write(ref deltaKeys[slot], key);
        return written;
    }

    private const int DeltaSlots = 4;

    private static long DeltaKeyOf(QuoteKey baseline) => (baseline.Seq * 1_000_003) ^ baseline.Version;

    [System.Runtime.CompilerServices.InlineArray(DeltaSlots)]
    private struct DeltaKeys
    {
        private long key;
    }

    [System.Runtime.CompilerServices.InlineArray(DeltaSlots)]
    private struct DeltaBodies
    {
        private QuoteBody? body;
    }

    public bool Equals(Quote? other) =>
        other is not null && Symbol == other.Symbol && Seq == other.Seq && Ts == other.Ts && SameFields(other.values);

    public override int GetHashCode() => HashCode.Combine(Symbol, Seq, Ts);

    /// <summary>Whether field <paramref name="index"/> is written the same way in both (see <see cref="FieldValue.SameAs"/>).</summary>
    public bool SameField(Quote other, int index)
    {
        ArgumentNullException.ThrowIfNull(other);
        return values[index].SameAs(other.values[index]);
    }

    private bool SameFields(in FieldValues others)
    {
        for (var i = 0; i < QuoteFields.Count; i++)
        {
            if (!values[i].SameAs(others[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The first state of a symbol: the tick's own fields.</summary>
    public static Quote From(Tick tick, long seq)
    {
        ArgumentNullException.ThrowIfNull(tick);
        return new Quote { Symbol = tick.Symbol, Seq = seq, Ts = tick.Ts, Values = tick.Values, Version = 1 };
    }

    /// <summary>The whole quote as one tick carrying every field it holds: what the compacted quotes topic stores.</summary>
    public Tick ToTick() => new() { Symbol = Symbol, Ts = Ts, Values = values };

    /// <summary>
    /// Merges a later tick of the same symbol into this state: a field the tick carries replaces the
    /// old value, a field it omits keeps it (PROTOCOL.md section 1).
    /// </summary>
    public Quote Merge(Tick tick, long seq)
    {
        ArgumentNullException.ThrowIfNull(tick);
        return new Quote { Symbol = Symbol, Seq = seq, Ts = tick.Ts, Values = values.Overlay(tick.Values), Version = Version + 1 };
    }

    /// <summary>
    /// Applies a quote that carries only the fields that changed (a delta, PROTOCOL.md's <c>delta</c> extension) to
    /// this state: its symbol, seq and ts, each field it carries, and every other field as this quote has it.
    /// A complete quote applied this way simply replaces the state.
    /// </summary>
    public Quote Apply(Quote delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        return new Quote { Symbol = Symbol, Seq = delta.Seq, Ts = delta.Ts, Values = values.Overlay(delta.values), Version = Version + 1 };
    }
}

/// <summary>
/// Which state of a symbol a quote is: its <see cref="Quote.Seq"/> and <see cref="Quote.Version"/>. Kept beside a
/// reference to an older quote, it answers what that quote was without reading it.
/// </summary>
public readonly record struct QuoteKey(long Seq, long Version);
