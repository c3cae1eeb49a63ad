using MarketStream.Contracts;

namespace MarketStream.Client;

/// <summary>One quote handed to the reader of a <see cref="FeedClient"/>.</summary>
/// <param name="Quote">The symbol's merged state as the server sent it; prices are exact decimals.</param>
/// <param name="Conflated">
/// Earlier quotes of this symbol the reader never saw because they were merged into this one: the server's
/// <c>conflated</c>, plus any the client's own latest-wins buffer replaced while the reader was slow.
/// </param>
/// <param name="Dropped">Quotes of this symbol the server discarded under a drop policy (its <c>dropped</c>).</param>
/// <param name="IsSnapshot">True when the quote came in a <c>snapshot</c> (after a subscribe or a resubscribe) and nothing newer replaced it before it was read.</param>
public sealed record QuoteUpdate(Quote Quote, int Conflated, int Dropped, bool IsSnapshot)
{
    /// <summary>The quote's symbol, upper case.</summary>
    public string Symbol => Quote.Symbol;

    /// <summary>The quote's sequence number: comparable only with others of the same symbol from the same Kafka topic.</summary>
    public long Seq => Quote.Seq;
}
