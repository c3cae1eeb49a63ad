using MarketStream.Contracts;

namespace MarketStream.Gateway.Streaming;

/// <summary>A quote waiting to be sent, with what the protocol says about its history for this client.</summary>
internal readonly record struct PendingQuote(Quote Quote, int Conflated, int Dropped);

internal enum AddResult
{
    /// <summary>Queued.</summary>
    Added,

    /// <summary>Replaced an unsent quote of the same symbol.</summary>
    Conflated,

    /// <summary>Queued, and another quote was discarded to make room.</summary>
    Dropped,

    /// <summary>Not queued: the queue is full and the policy says disconnect.</summary>
    Overflow,
}

/// <summary>What one session holds for its client between two frames. Not thread-safe: the session's lock guards it.</summary>
internal interface IPendingQuotes
{
    int Count { get; }

    AddResult Add(Quote quote);

    /// <summary>Forgets a symbol (on unsubscribe), so nothing of it is sent afterwards.</summary>
    void Remove(string symbol);

    /// <summary>Moves everything pending, oldest first, into <paramref name="batch"/>.</summary>
    void DrainTo(List<PendingQuote> batch);

    /// <summary>
    /// Takes over a quote pending under another policy (after <c>configure</c>), keeping its conflated and
    /// dropped counts. Never overflows: a full queue makes room by dropping its oldest quote, whatever the
    /// policy, since changing policy is not being slow.
    /// </summary>
    AddResult Carry(PendingQuote item);

    public static IPendingQuotes Create(DeliveryPolicy policy, int queueCapacity) => policy == DeliveryPolicy.Conflate
        ? new ConflatingQuotes()
        : new BoundedQuoteQueue(queueCapacity, policy);
}

/// <summary>
/// <c>conflate</c>: one slot per symbol holding its latest quote and how many earlier ones it replaced.
/// Its size is bounded by the number of subscribed symbols, whatever the tick rate (DESIGN.md decision 4).
/// </summary>
internal sealed class ConflatingQuotes : IPendingQuotes
{
    private readonly Dictionary<string, int> positions = new(StringComparer.Ordinal);
    private readonly List<PendingQuote?> slots = [];

    public int Count => positions.Count;

    public AddResult Add(Quote quote)
    {
        if (positions.TryGetValue(quote.Symbol, out var i))
        {
            var old = slots[i]!.Value;
            slots[i] = old with { Quote = quote, Conflated = old.Conflated + 1 };
            return AddResult.Conflated;
        }

        positions[quote.Symbol] = slots.Count;
        slots.Add(new PendingQuote(quote, 0, 0));
        return AddResult.Added;
    }

    public AddResult Carry(PendingQuote item)
    {
        if (positions.TryGetValue(item.Quote.Symbol, out var i))
        {
            var old = slots[i]!.Value;
            slots[i] = new PendingQuote(item.Quote, old.Conflated + 1 + item.Conflated, old.Dropped + item.Dropped);
            return AddResult.Conflated;
        }

        positions[item.Quote.Symbol] = slots.Count;
        slots.Add(item);
        return AddResult.Added;
    }

    public void Remove(string symbol)
    {
        if (positions.Remove(symbol, out var i))
        {
            slots[i] = null;
        }
    }

    public void DrainTo(List<PendingQuote> batch)
    {
        foreach (var slot in slots)
        {
            if (slot is { } item)
            {
                batch.Add(item);
            }
        }

        slots.Clear();
        positions.Clear();
    }
}

/// <summary>
/// <c>drop-oldest</c>, <c>drop-newest</c>, <c>disconnect</c>: every quote in order, in a queue of fixed capacity.
/// When it is full the oldest or the newest queued quote is discarded (and counted against its symbol, for
/// the <c>dropped</c> field of that symbol's next quote), or the add fails so the session can disconnect.
/// </summary>
internal sealed class BoundedQuoteQueue(int capacity, DeliveryPolicy policy) : IPendingQuotes
{
    private readonly (Quote? Quote, int Conflated)[] ring = new (Quote?, int)[capacity];
    private readonly Dictionary<string, int> dropped = new(StringComparer.Ordinal);
    private int head;
    private int count;

    public int Count => count;

    public AddResult Add(Quote quote) => Enqueue(quote, 0, policy);

    public AddResult Carry(PendingQuote item)
    {
        if (item.Dropped > 0)
        {
            dropped[item.Quote.Symbol] = dropped.GetValueOrDefault(item.Quote.Symbol) + item.Dropped;
        }

        return Enqueue(item.Quote, item.Conflated, policy == DeliveryPolicy.Disconnect ? DeliveryPolicy.DropOldest : policy);
    }

    private AddResult Enqueue(Quote quote, int conflated, DeliveryPolicy whenFull)
    {
        var result = AddResult.Added;
        if (count == ring.Length)
        {
            (Quote? Quote, int Conflated) victim;
            switch (whenFull)
            {
                case DeliveryPolicy.DropOldest:
                    victim = ring[head];
                    head = (head + 1) % ring.Length;
                    break;
                case DeliveryPolicy.DropNewest:
                    victim = ring[(head + count - 1) % ring.Length];
                    break;
                default:
                    return AddResult.Overflow;
            }

            count--;

            // Ticks conflated into the victim (carried over from conflate) are lost with it: count them too.
            var symbol = victim.Quote!.Symbol;
            dropped[symbol] = dropped.GetValueOrDefault(symbol) + 1 + victim.Conflated;
            result = AddResult.Dropped;
        }

        ring[(head + count) % ring.Length] = (quote, conflated);
        count++;
        return result;
    }

    public void Remove(string symbol)
    {
        dropped.Remove(symbol);
        var kept = 0;
        for (var i = 0; i < count; i++)
        {
            var entry = ring[(head + i) % ring.Length];
            if (!string.Equals(entry.Quote!.Symbol, symbol, StringComparison.Ordinal))
            {
                ring[(head + kept) % ring.Length] = entry;
                kept++;
            }
        }

        for (var i = kept; i < count; i++)
        {
            ring[(head + i) % ring.Length] = default;
        }

        count = kept;
    }

    public void DrainTo(List<PendingQuote> batch)
    {
        for (var i = 0; i < count; i++)
        {
            var index = (head + i) % ring.Length;
            var (quote, conflated) = ring[index];
            ring[index] = default;
            batch.Add(new PendingQuote(quote!, conflated, dropped.Remove(quote!.Symbol, out var d) ? d : 0));
        }

        head = 0;
        count = 0;
    }
}
