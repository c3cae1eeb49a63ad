namespace MarketStream.Contracts;

/// <summary>
/// One decoded tick record (PROTOCOL.md section 1). Only the fields the producer sent are set:
/// a tick may carry just what changed, and the merge keeps the rest of the quote as it was.
/// </summary>
public sealed class Tick
{
    /// <summary>Normalised (upper case) symbol.</summary>
    public required string Symbol { get; init; }

    /// <summary>Event time, Unix epoch microseconds.</summary>
    public required long Ts { get; init; }

    public decimal? Bid { get; init; }

    public decimal? Ask { get; init; }

    public decimal? Last { get; init; }

    public long? BidSize { get; init; }

    public long? AskSize { get; init; }

    public long? LastSize { get; init; }

    public string? Venue { get; init; }
}
