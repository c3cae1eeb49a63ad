using MarketStream.Contracts;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// One session's subscription to one symbol, as the fan-out sees it (DESIGN.md decision 10). The market-state
/// writer offers each new quote of the symbol to every slot in the symbol's array; under <c>conflate</c> the
/// offer is one atomic exchange of the slot's pending quote, and only a slot that was clean links itself into
/// its session's dirty list. No hashing, no lock, no metric call per subscriber.
/// </summary>
/// <remarks>
/// <para>How many ticks a quote conflated is not counted per tick: it follows from the quotes' versions (the
/// number of ticks merged into the symbol's state), as <c>pending.Version - Accounted - 1 - Dropped</c>, when
/// the quote is sent.</para>
/// <para>Threads: <see cref="Offer"/> runs on the writer's thread only. <see cref="pending"/> and
/// <see cref="NextDirty"/> are shared between the writer and whoever takes the dirty list (always under the
/// session's lock); the other fields are guarded by the session's lock.</para>
/// </remarks>
internal sealed class SubscriptionSlot(SessionSubscriptions owner, string symbol)
{
    // The newest quote not yet taken by the sender; null when clean.
    private Quote? pending;

    // Writer-owned: the highest seq offered, so a quote offered twice (a replay) or out of order is ignored.
    private long lastOfferedSeq;

    public string Symbol { get; } = symbol;

    public SessionSubscriptions Owner { get; } = owner;

    /// <summary>The next slot in the owner's dirty list.</summary>
    internal SubscriptionSlot? NextDirty;

    /// <summary>Version of the newest quote of this symbol the client has (snapshot or update): nothing older is sent. Under the session lock.</summary>
    internal long SeenVersion;

    /// <summary>
    /// The snapshot's version plus every tick told to the client since (each quote sent, with its
    /// <c>conflated</c> and <c>dropped</c>). Equal to <see cref="SeenVersion"/> except under drop-newest, where a
    /// quote may tell of drops newer than itself. Under the session lock.
    /// </summary>
    internal long Accounted;

    /// <summary>Ticks of this symbol discarded by a drop policy and not yet told with a later quote. Under the session lock.</summary>
    internal int Dropped;

    /// <summary>Scratch for a policy change: the slot had quotes in the queue being given up. Under the session lock.</summary>
    internal bool Requeued;

    /// <summary>Set on unsubscribe (under the session lock): anything still pending is discarded, not sent.</summary>
    internal volatile bool Removed;

    /// <summary>A new quote of the symbol, on the market-state writer's thread.</summary>
    public void Offer(Quote quote)
    {
        if (quote.Seq <= lastOfferedSeq)
        {
            return;
        }

        lastOfferedSeq = quote.Seq;
        if (Owner.IsQueued)
        {
            Owner.Enqueue(this, quote);
            return;
        }

        if (Interlocked.Exchange(ref pending, quote) is null)
        {
            Owner.MarkDirty(this);
        }

        // A policy change to a queue may have happened since IsQueued was read; then this quote is moved into
        // the queue now, behind what the change moved there, so order per symbol holds.
        if (Owner.IsQueued)
        {
            Owner.AbsorbDirty();
        }
    }

    /// <summary>Makes <paramref name="quote"/> this slot's pending quote (a policy change back to conflate). Under the session lock.</summary>
    internal bool Put(Quote quote) => Interlocked.Exchange(ref pending, quote) is null;

    /// <summary>Takes the pending quote; only whoever holds the dirty list calls this, under the session lock.</summary>
    internal Quote? Take() => Interlocked.Exchange(ref pending, null);

    internal bool HasPending => Volatile.Read(ref pending) is not null;
}
