using MarketStream.Contracts;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// One session's subscription to one symbol. Under <c>conflate</c> the slot holds no quote at all: the sender
/// reads the symbol's newest quote from the shared <see cref="SymbolFeed"/> when a frame is due ("pull at send
/// time"), and sends it if it is newer than what the client has. How many ticks it conflated follows from the
/// quotes' versions (the number of ticks merged into the symbol's state), as
/// <c>latest.Version - Accounted - 1 - Dropped</c>, so nothing is counted per tick. Under the queue policies the
/// writer offers every quote (<see cref="Offer"/>) and the session queues it. As a <see cref="QuoteMark"/>, it is
/// also where the connection's compressor keeps its place for the symbol, read with the slot it sits in.
/// </summary>
internal sealed class SubscriptionSlot(SessionSubscriptions owner, SymbolFeed feed) : QuoteMark
{
    // Writer-owned: the highest seq offered, so a quote offered twice (a replay) or out of order is ignored.
    private long lastOfferedSeq;

    public string Symbol => Feed.Symbol;

    public SymbolFeed Feed { get; } = feed;

    public SessionSubscriptions Owner { get; } = owner;

    /// <summary>Version of the newest quote of this symbol the client has (snapshot or update): nothing older is sent. Under the session lock.</summary>
    internal long SeenVersion;

    /// <summary>
    /// The snapshot's version plus every tick told to the client since (each quote sent, with its
    /// <c>conflated</c> and <c>dropped</c>). Equal to <see cref="SeenVersion"/> except under drop-newest, where a
    /// quote may tell of drops newer than itself. Under the session lock.
    /// </summary>
    internal long Accounted;

    /// <summary>
    /// The last quote of this symbol the client was sent (its snapshot, then each update in wire order): what a
    /// quote under the <c>delta</c> extension is written against. Under the session lock.
    /// </summary>
    internal Quote? Sent;

    /// <summary>
    /// <see cref="Sent"/>'s key, taken while the quote was at hand, so its changed-fields body is found later
    /// without reading the older quote again. Under the session lock.
    /// </summary>
    internal QuoteKey SentKey;

    /// <summary>Version of the newest quote of this symbol put in the session's queue. Under the session lock.</summary>
    internal long QueuedVersion;

    /// <summary>Ticks of this symbol discarded by a drop policy and not yet told with a later quote. Under the session lock.</summary>
    internal int Dropped;

    /// <summary>Set on unsubscribe (under the session lock): anything still queued is discarded, not sent.</summary>
    internal volatile bool Removed;

    /// <summary>
    /// The symbol's newest quote, if the client has not been told of it: newer than every tick accounted for (a
    /// quote dropped under drop-newest and told as dropped stays told; the next tick brings the state). Under the
    /// session lock.
    /// </summary>
    internal Quote? Unseen => Feed.Latest is { } latest && latest.Version > Accounted ? latest : null;

    /// <summary>The client has been sent <paramref name="quote"/> (its snapshot or an update): later quotes are written against it.</summary>
    internal void SetSent(Quote quote)
    {
        Sent = quote;
        SentKey = quote.Key;
    }

    /// <summary>A new quote of the symbol for a session under a queue policy, on the market-state writer's thread.</summary>
    public void Offer(Quote quote)
    {
        if (quote.Seq <= lastOfferedSeq)
        {
            return;
        }

        lastOfferedSeq = quote.Seq;
        Owner.Enqueue(this, quote);
    }
}

/// <summary>One symbol as the fan-out sees it: its newest quote, and the slots subscribed to it.</summary>
internal sealed class SymbolFeed(string symbol)
{
    private Quote? latest;
    private int watchers;

    public string Symbol { get; } = symbol;

    /// <summary>
    /// Subscribers whose session needs the writer on this symbol's ticks (see <see cref="SessionSubscriptions"/>):
    /// with none, a tick costs the fan-out one store and no walk.
    /// </summary>
    public int Watchers => Volatile.Read(ref watchers);

    public void AddWatchers(int delta) => Interlocked.Add(ref watchers, delta);

    /// <summary>The symbol's newest quote (written by the market-state writer only).</summary>
    public Quote? Latest
    {
        get => Volatile.Read(ref latest);
        set => Volatile.Write(ref latest, value);
    }

    public SubscriberList Subscribers { get; } = new();
}
