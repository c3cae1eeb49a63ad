namespace MarketStream.Contracts;

/// <summary>
/// One decoded tick record (PROTOCOL.md section 1). Only the fields the producer sent are set:
/// a tick may carry just what changed, and the merge keeps the rest of the quote as it was.
/// </summary>
public sealed class Tick
{
    private FieldValues values;

    /// <summary>Normalised (upper case) symbol.</summary>
    public required string Symbol { get; init; }

    /// <summary>Event time, Unix epoch microseconds.</summary>
    public required long Ts { get; init; }

    /// <summary>The optional fields (<see cref="QuoteFields"/>), by index; absent where the producer did not send one.</summary>
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
}
