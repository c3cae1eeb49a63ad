using MarketStream.Contracts;
using MarketStream.Gateway.Market;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// The part of a session the fan-out touches: its subscription slots, what is pending for the client, and the
/// policy that decides how it is bounded. Under <c>conflate</c> the pending state is the slots themselves
/// (each holds at most one quote) and a dirty list of the slots that hold one; under the other policies it is
/// a <see cref="QuoteQueue"/> of fixed capacity.
/// </summary>
/// <remarks>
/// <para><see cref="Gate"/> is the session's lock: requests, the sender and a policy change take it; the writer
/// takes it only under the queue policies (and, under <c>conflate</c>, never).</para>
/// <para>The dirty list is a stack the writer pushes onto without a lock (one compare-and-swap when a slot turns
/// dirty) and whoever holds <see cref="Gate"/> takes whole. A slot is pushed only when its pending quote goes
/// from none to some, and only a taker of the list clears it, so a slot is never in the list twice.</para>
/// </remarks>
internal sealed class SessionSubscriptions(
    SubscriptionIndex index,
    GatewayStats stats,
    int queueCapacity,
    DeliveryPolicy policy,
    Action wake,
    Action overflow)
{
    private readonly Dictionary<string, SubscriptionSlot> slots = new(StringComparer.Ordinal);
    private SubscriptionSlot? dirtyHead;
    private QuoteQueue? queue = policy == DeliveryPolicy.Conflate ? null : new QuoteQueue(queueCapacity, policy);
    private volatile bool queued = policy != DeliveryPolicy.Conflate;
    private bool released;

    // Scratch for reversing the dirty stack into arrival order; used under Gate only.
    private readonly List<SubscriptionSlot> dirtyScratch = [];

    public Lock Gate { get; } = new();

    public DeliveryPolicy Policy { get; private set; } = policy;

    /// <summary>True under a queue policy (read by the writer without the lock).</summary>
    public bool IsQueued => queued;

    /// <summary>Symbols subscribed. Under <see cref="Gate"/>.</summary>
    public int Count => slots.Count;

    public bool Contains(string symbol) => slots.ContainsKey(symbol);

    /// <summary>Quotes waiting to be sent. Under <see cref="Gate"/>.</summary>
    public int PendingCount
    {
        get
        {
            var n = queue?.Count ?? 0;
            foreach (var slot in slots.Values)
            {
                n += slot.HasPending ? 1 : 0;
            }

            return n;
        }
    }

    /// <summary>Something may be waiting to be sent (a hint for the sender; exact under <see cref="Gate"/>).</summary>
    public bool HasPending => Volatile.Read(ref dirtyHead) is not null || queue is { Count: > 0 };

    /// <summary>
    /// Subscribes to <paramref name="symbol"/> and returns its current quote for the snapshot, if it has one.
    /// The slot is registered before the state is read, so a tick merged in between either shows in the
    /// snapshot or reaches the slot as a newer version; one not newer than the snapshot is never sent.
    /// Under <see cref="Gate"/>.
    /// </summary>
    public Quote? Subscribe(string symbol, MarketState state)
    {
        var slot = new SubscriptionSlot(this, symbol);
        slots.Add(symbol, slot);
        index.Add(slot);
        if (state.TryGet(symbol, out var quote))
        {
            slot.SeenVersion = slot.Accounted = quote.Version;
            return quote;
        }

        return null;
    }

    /// <summary>Unsubscribes; nothing of the symbol is sent afterwards, not even what was pending. Under <see cref="Gate"/>.</summary>
    public bool Unsubscribe(string symbol)
    {
        if (!slots.Remove(symbol, out var slot))
        {
            return false;
        }

        slot.Removed = true;
        index.Remove(slot);
        queue?.Remove(slot);
        return true;
    }

    /// <summary>Leaves every subscription (the session is over). Under <see cref="Gate"/>.</summary>
    public void ReleaseAll()
    {
        if (released)
        {
            return;
        }

        released = true;
        foreach (var slot in slots.Values)
        {
            slot.Removed = true;
            index.Remove(slot);
        }

        slots.Clear();
        Volatile.Write(ref dirtyHead, null);
        queue?.Drain(0, static (_, _, _, _) => { });
    }

    /// <summary>
    /// Switches to another policy, carrying what is pending over, oldest first, with its conflated and dropped
    /// counts. Under <see cref="Gate"/>.
    /// </summary>
    public void ChangePolicy(DeliveryPolicy newPolicy, MarketState state)
    {
        if (newPolicy == Policy)
        {
            return;
        }

        var oldQueue = queue;
        Policy = newPolicy;
        if (newPolicy == DeliveryPolicy.Conflate)
        {
            queue = null;
            queued = false;

            // What was queued gives way to each symbol's newest state, the one quote conflate keeps: the queued
            // quotes count as conflated into it, by the version arithmetic at send time. Under drop-newest the
            // newest state may have been the one dropped, so the slot takes it from the market state, not from
            // the queue; a symbol whose every quote was dropped gets it too.
            oldQueue?.Drain(0, static (_, slot, _, _) => slot.Requeued = true);
            foreach (var slot in slots.Values)
            {
                if ((slot.Requeued || slot.Dropped > 0) && state.TryGet(slot.Symbol, out var newest) && newest.Version > slot.SeenVersion)
                {
                    // If the newest state was itself dropped, it is now delivered after all: not a drop any more.
                    slot.Dropped = (int)Math.Min(slot.Dropped, newest.Version - slot.Accounted - 1);
                    if (slot.Put(newest))
                    {
                        MarkDirty(slot);
                    }
                }

                slot.Requeued = false;
            }
        }
        else
        {
            queue = new QuoteQueue(queueCapacity, newPolicy);
            queued = true;
            oldQueue?.Drain(this, static (self, slot, quote, conflated) => self.CarryLocked(slot, quote, conflated));
            AbsorbDirtyLocked();
        }

        wake();
    }

    /// <summary>Pushes a slot that just turned dirty onto the dirty list; wakes the sender if the list was empty.</summary>
    public void MarkDirty(SubscriptionSlot slot)
    {
        SubscriptionSlot? head;
        do
        {
            head = Volatile.Read(ref dirtyHead);
            slot.NextDirty = head;
        }
        while (Interlocked.CompareExchange(ref dirtyHead, slot, head) != head);

        if (head is null)
        {
            wake();
        }
    }

    /// <summary>A quote for a slot under a queue policy, from the writer.</summary>
    public void Enqueue(SubscriptionSlot slot, Quote quote)
    {
        lock (Gate)
        {
            if (released || slot.Removed)
            {
                return;
            }

            if (!queued)
            {
                // The policy went back to conflate while the writer waited for the lock.
                if (slot.Put(quote))
                {
                    MarkDirty(slot);
                }

                return;
            }

            // A quote not newer than the snapshot the client already has (a subscribe raced this tick).
            if (quote.Version <= slot.SeenVersion)
            {
                return;
            }

            var wasEmpty = queue!.Count == 0;
            switch (queue.Add(slot, quote))
            {
                case AddResult.Dropped:
                    stats.QuoteDropped(Policy);
                    break;
                case AddResult.Overflow:
                    stats.QuoteDropped(Policy);
                    overflow();
                    return;
            }

            if (wasEmpty)
            {
                wake();
            }
        }
    }

    /// <summary>Moves slots left dirty by a writer that raced a policy change into the queue.</summary>
    public void AbsorbDirty()
    {
        lock (Gate)
        {
            if (queued && !released)
            {
                AbsorbDirtyLocked();
                wake();
            }
        }
    }

    /// <summary>
    /// Moves everything pending, oldest first, into <paramref name="batch"/> with its <c>conflated</c> and
    /// <c>dropped</c> counts, and returns the ticks conflated into them. Under <see cref="Gate"/>.
    /// </summary>
    public int TakePending(List<OutgoingQuote> batch)
    {
        if (queued)
        {
            AbsorbDirtyLocked();
            var before = batch.Count;
            // A quote carries the drops of its symbol since the client last received one (PROTOCOL.md), so under
            // drop-newest it may tell of quotes newer than itself.
            queue!.Drain(batch, static (b, slot, quote, conflated) =>
            {
                if (!slot.Removed && quote.Version > slot.SeenVersion)
                {
                    b.Add(new OutgoingQuote(quote, conflated, slot.Dropped));
                    slot.Accounted += 1 + conflated + slot.Dropped;
                    slot.Dropped = 0;
                    slot.SeenVersion = quote.Version;
                }
            });

            var sum = 0;
            for (var i = before; i < batch.Count; i++)
            {
                sum += batch[i].Conflated;
            }

            return sum;
        }

        var conflatedTicks = 0;
        foreach (var slot in TakeDirty())
        {
            if (slot.Take() is not { } quote || slot.Removed || quote.Version <= slot.SeenVersion)
            {
                continue;
            }

            var conflated = Conflated(slot, quote);
            batch.Add(new OutgoingQuote(quote, conflated, slot.Dropped));
            conflatedTicks += conflated;
            slot.Dropped = 0;
            slot.SeenVersion = slot.Accounted = quote.Version;
        }

        return conflatedTicks;
    }

    private void AbsorbDirtyLocked()
    {
        foreach (var slot in TakeDirty())
        {
            if (slot.Take() is { } quote && !slot.Removed && quote.Version > slot.SeenVersion)
            {
                CarryLocked(slot, quote, Conflated(slot, quote));
            }
        }
    }

    /// <summary>
    /// Ticks merged into a slot's pending quote and neither sent nor dropped: every tick up to its version that
    /// the client has not been told of. A pending quote is its symbol's newest (a policy change to conflate makes
    /// sure of it), so every drop not yet told is older and is told beside it, not counted here.
    /// </summary>
    private static int Conflated(SubscriptionSlot slot, Quote pending) => (int)(pending.Version - slot.Accounted - 1) - slot.Dropped;

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
    }

    /// <summary>Takes the whole dirty list, in the order the slots turned dirty.</summary>
    private List<SubscriptionSlot> TakeDirty()
    {
        dirtyScratch.Clear();
        var node = Interlocked.Exchange(ref dirtyHead, null);
        while (node is not null)
        {
            // Unlink before the slot's quote is taken: once taken, the writer may push the slot again.
            var next = node.NextDirty;
            node.NextDirty = null;
            dirtyScratch.Add(node);
            node = next;
        }

        dirtyScratch.Reverse();
        return dirtyScratch;
    }
}
