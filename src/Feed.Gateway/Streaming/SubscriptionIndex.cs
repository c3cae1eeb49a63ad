using System.Collections.Concurrent;
using MarketStream.Contracts;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// The fan-out (DESIGN.md decisions 5 and 10): per symbol, its newest quote and its subscription slots. The
/// market-state writer calls <see cref="Publish"/> with each new quote: one dictionary lookup per tick, the
/// quote stored as the symbol's newest, then, only if some subscriber watches the symbol (is parked, queues, or
/// has a fast throttle), one read of each subscriber's mode. A session that polls (a
/// throttled <c>conflate</c> session between frames: the common case) costs the tick nothing more; its sender
/// reads the newest quote when its frame is due. A parked session (nothing to send when it last looked) is
/// woken; a session under a queue policy gets the quote queued. Nothing here awaits a socket, so one slow
/// client costs the others nothing.
/// </summary>
public sealed class SubscriptionIndex
{
    private readonly ConcurrentDictionary<string, SymbolFeed> bySymbol = new(StringComparer.Ordinal);
    private readonly Func<string, SymbolFeed> create = static s => new SymbolFeed(s);
    private long subscriptionCount;

    /// <summary>Subscriptions over all sessions.</summary>
    public long SubscriptionCount => Interlocked.Read(ref subscriptionCount);

    /// <summary>Makes a new quote its symbol's newest and tells the subscribers that need telling. Called by the single market-state writer.</summary>
    public void Publish(Quote quote)
    {
        ArgumentNullException.ThrowIfNull(quote);
        var feed = bySymbol.GetOrAdd(quote.Symbol, create);
        feed.Latest = quote;

        // Pairs with a sender that parks: it announces the park (and counts as a watcher), then looks at the
        // newest quotes again. With a full fence on both sides, either it sees this quote or this loop sees it
        // counted and parked. A symbol no session watches (every subscriber polls) costs no walk.
        Interlocked.MemoryBarrier();
        if (feed.Watchers == 0)
        {
            return;
        }

        var (items, count) = feed.Subscribers.Current;
        for (var i = 0; i < count && i < items.Length; i++)
        {
            // A copy of the entry, which a concurrent remove may have half cleared: each part is checked.
            var subscriber = items[i];
            if (subscriber.Owner is not { } owner)
            {
                continue;
            }

            switch (owner.Mode)
            {
                case SessionSubscriptions.Parked:
                    owner.Unpark();
                    break;
                case SessionSubscriptions.Queued:
                    subscriber.Slot?.Offer(quote);
                    break;
            }
        }
    }

    /// <summary>The feed of a symbol, created on first use.</summary>
    internal SymbolFeed Feed(string symbol) => bySymbol.GetOrAdd(symbol, create);

    internal void Add(SubscriptionSlot slot)
    {
        slot.Feed.Subscribers.Add(slot);
        Interlocked.Increment(ref subscriptionCount);
    }

    internal void Remove(SubscriptionSlot slot)
    {
        if (slot.Feed.Subscribers.Remove(slot))
        {
            Interlocked.Decrement(ref subscriptionCount);
        }

        // An empty feed stays: symbols are few and reused, and it holds the symbol's newest quote.
    }
}

/// <summary>One subscriber as the writer walks them: the session (for its mode) beside the slot, so a tick reads one object per subscriber.</summary>
internal readonly record struct Subscriber(SessionSubscriptions? Owner, SubscriptionSlot? Slot);

/// <summary>
/// One symbol's subscribers in an array published with its count as one immutable view: the writer reads the
/// view without a lock and walks contiguous entries. An add writes past the count and then publishes; a remove
/// clears its entry in place (a writer walking the view skips it). Entries never move within a published array,
/// so no concurrent walk misses one; when the array is full, or half of it is cleared, a compacted copy is
/// published instead. So 20,000 subscribers to one symbol cost amortised O(1) copying per subscribe.
/// </summary>
internal sealed class SubscriberList
{
    private readonly Lock gate = new();
    private View view = new([], 0);
    private int live;

    public View Current => Volatile.Read(ref view);

    public void Add(SubscriptionSlot slot)
    {
        lock (gate)
        {
            var (items, count) = view;
            if (count == items.Length)
            {
                (items, count) = Compact(items, count, Math.Max(4, (live + 1) * 2));
            }

            items[count] = new Subscriber(slot.Owner, slot);
            live++;
            Volatile.Write(ref view, new View(items, count + 1));
        }
    }

    public bool Remove(SubscriptionSlot slot)
    {
        lock (gate)
        {
            var (items, count) = view;
            var i = Array.FindIndex(items, 0, count, s => s.Slot == slot);
            if (i < 0)
            {
                return false;
            }

            // A 16-byte entry is not written atomically: a concurrent walk may see one half cleared, and checks both.
            items[i] = default;
            live--;
            if (count > 8 && live < count / 2)
            {
                var (compacted, n) = Compact(items, count, Math.Max(4, live * 2));
                Volatile.Write(ref view, new View(compacted, n));
            }

            return true;
        }
    }

    private static (Subscriber[] Items, int Count) Compact(Subscriber[] items, int count, int capacity)
    {
        var next = new Subscriber[capacity];
        var n = 0;
        for (var i = 0; i < count; i++)
        {
            if (items[i].Slot is not null)
            {
                next[n++] = items[i];
            }
        }

        return (next, n);
    }

    internal sealed record View(Subscriber[] Items, int Count);
}
