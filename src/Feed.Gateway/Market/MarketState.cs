using System.Collections.Concurrent;
using MarketStream.Contracts;
using MarketStream.Ingest;

namespace MarketStream.Gateway.Market;

/// <summary>
/// The last-value cache: the current <see cref="Quote"/> of every symbol seen. One writer
/// (<see cref="MarketStateWriter"/>) merges ticks in; any number of readers take snapshots. Quotes are
/// immutable, so a reader always sees a whole state, never a half-merged one.
/// </summary>
public sealed class MarketState
{
    private readonly ConcurrentDictionary<string, Quote> quotes = new(StringComparer.Ordinal);

    /// <summary>Number of symbols with a known state.</summary>
    public int Count => quotes.Count;

    /// <summary>The current quote of a normalised symbol.</summary>
    public bool TryGet(string symbol, out Quote quote) => quotes.TryGetValue(symbol, out quote!);

    /// <summary>The symbols with a known state, in ordinal order.</summary>
    public IReadOnlyList<string> Symbols()
    {
        var keys = quotes.Keys.ToArray();
        Array.Sort(keys, StringComparer.Ordinal);
        return keys;
    }

    /// <summary>
    /// Merges a tick into its symbol's state and returns the new quote, or null when the tick's
    /// <c>seq</c> is not after the current one (the symbol was written to two partitions, which the
    /// keying rule forbids; merging would make <c>seq</c> go backwards). Only the single writer calls this.
    /// </summary>
    internal Quote? Apply(in TickEnvelope envelope)
    {
        var tick = envelope.Tick;
        Quote next;
        if (quotes.TryGetValue(tick.Symbol, out var current))
        {
            if (envelope.Seq <= current.Seq)
            {
                return null;
            }

            next = current.Merge(tick, envelope.Seq);
        }
        else
        {
            next = Quote.From(tick, envelope.Seq);
        }

        quotes[tick.Symbol] = next;
        return next;
    }
}
