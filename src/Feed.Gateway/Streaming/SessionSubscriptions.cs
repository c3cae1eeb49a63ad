using MarketStream.Contracts;
using MarketStream.Gateway.Market;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// The part of a session the fan-out touches: its subscription slots, what is pending for the client, and the
/// policy that bounds it. Under <c>conflate</c> nothing is stored per tick: what is pending is, for each slot,
/// the symbol's newest quote when it is newer than what the client has, read when a frame is due. Under the
/// other policies it is a <see cref="QuoteQueue"/> of fixed capacity that the writer fills.
/// </summary>
/// <remarks>
/// <para><see cref="Gate"/> is the session's lock: requests, the sender and a policy change take it; the writer
/// takes it only under the queue policies.</para>
/// <para><see cref="Mode"/> is what the writer reads per subscriber and tick: <see cref="Polling"/> (the sender
/// will look by itself: nothing to do), <see cref="Parked"/> (the sender found nothing and sleeps: wake it
/// once) or <see cref="Queued"/> (queue the quote).</para>
/// <para>The writer reads those modes only for symbols that have a watcher (<see cref="SymbolFeed.Watchers"/>):
/// a session whose slots count as watchers. A session under a queue policy, or with a throttle under
/// <see cref="LazyThrottleMs"/>, always counts (it parks after nearly every frame, and counting on every park
/// would cost more than the walk). A slower <c>conflate</c> session, the common case, counts only while it is
/// parked: it parks at most once per throttle interval, and while it has something to send each frame (a busy
/// watchlist) it never does, so the writer does not visit it at all.</para>
/// </remarks>
internal sealed class SessionSubscriptions(
    SubscriptionIndex index,
    GatewayStats stats,
    int queueCapacity,
    DeliveryPolicy policy,
    ISessionSignals signals)
{
    public const int Polling = 0;
    public const int Parked = 1;
    public const int Queued = 2;

    /// <summary>Throttle from which a <c>conflate</c> session counts as a watcher only while parked.</summary>
    public const int LazyThrottleMs = 50;

    // Most connections watch a few symbols: up to this many are found by a scan of the slots, past it by a
    // dictionary made then (an idle connection holding one symbol should not carry a hash table).
    private const int ScanLimit = 8;

    private readonly List<SubscriptionSlot> slots = new(1);
    private Dictionary<string, SubscriptionSlot>? bySymbol;
    private QuoteQueue? queue = policy == DeliveryPolicy.Conflate ? null : new QuoteQueue(queueCapacity, policy);
    private int mode = policy == DeliveryPolicy.Conflate ? Polling : Queued;
    private bool released;

    // Whether this session's slots count in their feeds' watchers, and whether its throttle lets it count only
    // while parked (until told otherwise, it counts always). Under Gate.
    private bool watching = true;
    private bool lazyThrottle;

    public Lock Gate { get; } = new();

    public DeliveryPolicy Policy { get; private set; } = policy;

    /// <summary>What the writer does for this session on a tick of one of its symbols.</summary>
    public int Mode => Volatile.Read(ref mode);

    /// <summary>Symbols subscribed. Under <see cref="Gate"/>.</summary>
    public int Count => slots.Count;

    public bool Contains(string symbol) => Find(symbol) >= 0;

    private int Find(string symbol)
    {
        if (bySymbol is not null)
        {
            return bySymbol.TryGetValue(symbol, out var found) ? slots.IndexOf(found) : -1;
        }

        for (var i = 0; i < slots.Count; i++)
        {
            if (string.Equals(slots[i].Symbol, symbol, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Quotes waiting to be sent. Under <see cref="Gate"/>.</summary>
    public int PendingCount
    {
        get
        {
            if (queue is not null)
            {
                return queue.Count;
            }

            var n = 0;
            foreach (var slot in slots)
            {
                n += slot.Unseen is null ? 0 : 1;
            }

            return n;
        }
    }

    /// <summary>
    /// Subscribes to <paramref name="symbol"/> and returns its current quote for the snapshot, if it has one.
    /// The slot is registered before the state is read, so a tick merged in between either shows in the
    /// snapshot or is newer than it; one not newer than the snapshot is never sent. Under <see cref="Gate"/>.
    /// </summary>
    public Quote? Subscribe(string symbol, MarketState state)
    {
        var slot = new SubscriptionSlot(this, index.Feed(symbol));
        slots.Add(slot);
        if (bySymbol is not null)
        {
            bySymbol.Add(symbol, slot);
        }
        else if (slots.Count > ScanLimit)
        {
            bySymbol = new Dictionary<string, SubscriptionSlot>(slots.Count * 2, StringComparer.Ordinal);
            foreach (var s in slots)
            {
                bySymbol.Add(s.Symbol, s);
            }
        }
        index.Add(slot);
        CountWatcher(slot, 1);
        if (state.TryGet(symbol, out var quote))
        {
            slot.SeenVersion = slot.Accounted = slot.QueuedVersion = quote.Version;
            slot.SetSent(quote);
            return quote;
        }

        return null;
    }

    /// <summary>Unsubscribes; nothing of the symbol is sent afterwards, not even what was pending. Under <see cref="Gate"/>.</summary>
    public bool Unsubscribe(string symbol)
    {
        var at = Find(symbol);
        if (at < 0)
        {
            return false;
        }

        var slot = slots[at];
        slots.RemoveAt(at);
        bySymbol?.Remove(symbol);
        slot.Removed = true;
        index.Remove(slot);
        CountWatcher(slot, -1);
        queue?.Remove(slot);
        return true;
    }

    /// <summary>Leaves every subscription (the session is closing). Under <see cref="Gate"/>.</summary>
    public void ReleaseAll()
    {
        if (released)
        {
            return;
        }

        released = true;
        foreach (var slot in slots)
        {
            slot.Removed = true;
            index.Remove(slot);
            CountWatcher(slot, -1);
        }

        watching = false;
        slots.Clear();
        bySymbol = null;
        queue?.Clear();
    }

    /// <summary>
    /// Switches to another policy, carrying what is pending over, oldest first, with its conflated and dropped
    /// counts. Under <see cref="Gate"/>.
    /// </summary>
    public void ChangePolicy(DeliveryPolicy newPolicy)
    {
        if (newPolicy == Policy || released)
        {
            return;
        }

        var oldQueue = queue;
        Policy = newPolicy;
        if (newPolicy == DeliveryPolicy.Conflate)
        {
            // What was queued gives way to each symbol's newest quote, the one conflate keeps; the queued quotes
            // count as conflated into it (the version arithmetic at send time counts them). If the newest was the
            // one dropped (drop-newest), it is delivered after all: not a drop any more.
            queue = null;
            Interlocked.Exchange(ref mode, Polling);
            oldQueue?.Clear();
            foreach (var slot in slots)
            {
                if (slot.Unseen is { } newest)
                {
                    slot.Dropped = (int)Math.Min(slot.Dropped, newest.Version - slot.Accounted - 1);
                }
            }
        }
        else
        {
            // The mode changes first (a full fence), then the newest quotes are read: a tick the writer merges
            // meanwhile is either seen here or queued by the writer (which skips what is already queued).
            queue = new QuoteQueue(queueCapacity, newPolicy);
            var wasPolling = Interlocked.Exchange(ref mode, Queued) != Queued;
            if (wasPolling)
            {
                foreach (var slot in slots)
                {
                    if (slot.Unseen is { } quote)
                    {
                        CarryLocked(slot, quote, Conflated(slot, quote));
                    }
                }
            }
            else
            {
                oldQueue!.Drain(this, static (self, slot, quote, conflated) => self.CarryLocked(slot, quote, conflated));
            }
        }

        SyncWatching();
        signals.OnDirty();
    }

    /// <summary>The session's throttle changed (or was set at the start). Under <see cref="Gate"/>.</summary>
    public void SetThrottle(int throttleMs)
    {
        lazyThrottle = throttleMs >= LazyThrottleMs;
        SyncWatching();
    }

    /// <summary>
    /// Makes the slots count as watchers exactly when the writer must visit this session: under a queue policy,
    /// with a fast throttle, or while parked. Under <see cref="Gate"/>. The increments are full fences: a sender
    /// that parks counts first, then looks at the newest quotes again, so either it sees a tick's quote or the
    /// writer (which stores the quote, then reads the count) sees it counted and wakes it.
    /// </summary>
    private void SyncWatching()
    {
        var want = !released && (!lazyThrottle || Volatile.Read(ref mode) != Polling);
        if (want == watching)
        {
            return;
        }

        watching = want;
        foreach (var slot in slots)
        {
            slot.Feed.AddWatchers(want ? 1 : -1);
        }
    }

    /// <summary>A slot joining (+1) or leaving (-1) its feed's watchers, if this session counts as one now.</summary>
    private void CountWatcher(SubscriptionSlot slot, int delta)
    {
        if (watching)
        {
            slot.Feed.AddWatchers(delta);
        }
    }

    /// <summary>
    /// The sender found nothing to send and will sleep: from now on the writer wakes it. False if not polling.
    /// Under <see cref="Gate"/>; the sender looks at the pending quotes once more after it.
    /// </summary>
    public bool Park()
    {
        if (Interlocked.CompareExchange(ref mode, Parked, Polling) != Polling)
        {
            return false;
        }

        SyncWatching();
        return true;
    }

    /// <summary>The sender found something after all, right after parking. Under <see cref="Gate"/>.</summary>
    public void CancelPark()
    {
        Interlocked.CompareExchange(ref mode, Polling, Parked);
        SyncWatching();
    }

    /// <summary>A tick for a parked session, from the writer: back to polling, and wake the sender once.</summary>
    public void Unpark()
    {
        if (Interlocked.CompareExchange(ref mode, Polling, Parked) == Parked)
        {
            signals.OnDirty();
        }
    }

    /// <summary>A quote for a slot under a queue policy, from the writer.</summary>
    public void Enqueue(SubscriptionSlot slot, Quote quote)
    {
        lock (Gate)
        {
            // Not queued any more (the policy went back to conflate: the sender reads the newest quote itself),
            // or already queued by a policy change, or not newer than the snapshot the client has.
            if (released || slot.Removed || queue is null || quote.Version <= slot.QueuedVersion || quote.Version <= slot.SeenVersion)
            {
                return;
            }

            var wasEmpty = queue.Count == 0;
            switch (queue.Add(slot, quote))
            {
                case AddResult.Dropped:
                    stats.QuoteDropped(Policy);
                    break;
                case AddResult.Overflow:
                    stats.QuoteDropped(Policy);
                    signals.OnOverflowLocked();
                    return;
            }

            slot.QueuedVersion = quote.Version;
            if (wasEmpty)
            {
                signals.OnDirty();
            }
        }
    }

    /// <summary>
    /// Moves everything pending, oldest first, into <paramref name="batch"/> with its <c>conflated</c> and
    /// <c>dropped</c> counts, and returns the ticks conflated into them. Under <see cref="Gate"/>.
    /// </summary>
    public int TakePending(List<OutgoingQuote> batch)
    {
        // Woken by the writer (back to polling): stop counting as a watcher, if this session counts only while parked.
        SyncWatching();
        var conflatedTicks = 0;
        if (queue is not null)
        {
            // A quote carries the drops of its symbol since the client last received one (PROTOCOL.md), so under
            // drop-newest it may tell of quotes newer than itself.
            var before = batch.Count;
            queue.Drain(batch, static (b, slot, quote, conflated) =>
            {
                if (!slot.Removed && quote.Version > slot.SeenVersion)
                {
                    b.Add(new OutgoingQuote(quote, conflated, slot.Dropped, slot.Sent, slot.SentKey, slot));
                    slot.SetSent(quote);
                    slot.Accounted += 1 + conflated + slot.Dropped;
                    slot.Dropped = 0;
                    slot.SeenVersion = quote.Version;
                }
            });

            for (var i = before; i < batch.Count; i++)
            {
                conflatedTicks += batch[i].Conflated;
            }

            return conflatedTicks;
        }

        foreach (var slot in slots)
        {
            if (slot.Unseen is not { } quote)
            {
                continue;
            }

            var conflated = Conflated(slot, quote);
            batch.Add(new OutgoingQuote(quote, conflated, slot.Dropped, slot.Sent, slot.SentKey, slot));
            slot.SetSent(quote);
            conflatedTicks += conflated;
            slot.Dropped = 0;
            slot.SeenVersion = slot.Accounted = quote.Version;
        }

        return conflatedTicks;
    }

    /// <summary>
    /// Ticks merged into a symbol's newest quote and neither sent nor dropped: every tick up to its version that
    /// the client has not been told of. Every drop not yet told is older than the newest quote (a policy change
    /// to conflate makes sure of it) and is told beside it, not counted here.
    /// </summary>
    private static int Conflated(SubscriptionSlot slot, Quote newest) => (int)(newest.Version - slot.Accounted - 1) - slot.Dropped;

    private void CarryLocked(SubscriptionSlot slot, Quote quote, int conflated)
    {
        if (slot.Removed)
        {
            return;
        }

        if (queue!.Carry(slot, quote, conflated) == AddResult.Dropped)
        {
            stats.QuoteDropped(Policy);
        }

        slot.QueuedVersion = Math.Max(slot.QueuedVersion, quote.Version);
    }
}

/// <summary>What the subscription state tells its session's sender.</summary>
internal interface ISessionSignals
{
    /// <summary>Something to send arrived (a tick for a parked session, a first quote queued).</summary>
    void OnDirty();

    /// <summary>The queue overflowed under the <c>disconnect</c> policy. Under the session's gate.</summary>
    void OnOverflowLocked();
}
