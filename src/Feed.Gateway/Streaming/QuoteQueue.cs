using MarketStream.Contracts;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// A quote on its way to one client, with this client's counts, <paramref name="Baseline"/> (the last quote of the
/// symbol the client was sent before it, for the <c>delta</c> extension; null if none) with its key as the
/// subscription kept it (<paramref name="BaselineKey"/>), and the subscription's <paramref name="Mark"/>, where a
/// compressor keeps its place for the symbol.
/// </summary>
internal readonly record struct OutgoingQuote(Quote Quote, int Conflated, int Dropped, Quote? Baseline, QuoteKey BaselineKey, QuoteMark Mark);

internal enum AddResult
{
    /// <summary>Queued.</summary>
    Added,

    /// <summary>Queued, and another quote was discarded to make room.</summary>
    Dropped,

    /// <summary>Not queued: the queue is full and the policy says disconnect.</summary>
    Overflow,
}

/// <summary>
/// <c>drop-oldest</c>, <c>drop-newest</c>, <c>disconnect</c>: every quote in order, in a ring of fixed capacity
/// (DESIGN.md decision 4). When it is full the oldest or the newest queued quote is discarded and counted
/// against its slot (for the <c>dropped</c> field of that symbol's next quote), or the add fails so the
/// session can disconnect. Not thread-safe: the session's lock guards it.
/// </summary>
internal sealed class QuoteQueue(int capacity, DeliveryPolicy policy)
{
    private readonly Entry[] ring = new Entry[capacity];
    private int head;
    private int count;

    public int Count => count;

    public DeliveryPolicy Policy => policy;

    public AddResult Add(SubscriptionSlot slot, Quote quote) => Enqueue(new Entry(slot, quote, 0), policy);

    /// <summary>
    /// Takes over a quote that was pending under <c>conflate</c> (after <c>configure</c>), with the ticks it
    /// conflated. Never overflows: a full queue makes room by dropping its oldest quote whatever the policy,
    /// since changing policy is not being slow.
    /// </summary>
    public AddResult Carry(SubscriptionSlot slot, Quote quote, int conflated) =>
        Enqueue(new Entry(slot, quote, conflated), policy == DeliveryPolicy.Disconnect ? DeliveryPolicy.DropOldest : policy);

    private AddResult Enqueue(Entry entry, DeliveryPolicy whenFull)
    {
        var result = AddResult.Added;
        if (count == ring.Length)
        {
            Entry victim;
            switch (whenFull)
            {
                case DeliveryPolicy.DropOldest:
                    victim = ring[head];
                    ring[head] = default;
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
            victim.Slot.Dropped += 1 + victim.Conflated;
            result = AddResult.Dropped;
        }

        ring[(head + count) % ring.Length] = entry;
        count++;
        return result;
    }

    /// <summary>Forgets a slot's quotes (on unsubscribe), so nothing of it is sent afterwards.</summary>
    public void Remove(SubscriptionSlot slot)
    {
        var kept = 0;
        for (var i = 0; i < count; i++)
        {
            var entry = ring[(head + i) % ring.Length];
            if (entry.Slot != slot)
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

    /// <summary>Discards everything queued (the session is closing, or its policy no longer queues).</summary>
    public void Clear() => Drain(0, static (_, _, _, _) => { });

    /// <summary>Hands every queued entry, oldest first, to <paramref name="take"/>, and empties the queue.</summary>
    public void Drain<TState>(TState state, Action<TState, SubscriptionSlot, Quote, int> take)
    {
        for (var i = 0; i < count; i++)
        {
            var index = (head + i) % ring.Length;
            var entry = ring[index];
            ring[index] = default;
            take(state, entry.Slot, entry.Quote, entry.Conflated);
        }

        head = 0;
        count = 0;
    }

    private readonly record struct Entry(SubscriptionSlot Slot, Quote Quote, int Conflated);
}
