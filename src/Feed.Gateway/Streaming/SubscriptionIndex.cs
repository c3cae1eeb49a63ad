using System.Collections.Concurrent;
using MarketStream.Contracts;
using MarketStream.Gateway.Market;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// The fan-out (DESIGN.md decision 5): which sessions want which symbol. When the market state changes a
/// symbol, every subscribed session is handed the new quote, which it merges into its pending state and,
/// if its sender is idle, wakes it. Nothing here awaits a socket, so one slow client costs the others nothing.
/// </summary>
public sealed class SubscriptionIndex : IMarketStateObserver
{
    private readonly ConcurrentDictionary<string, Subscribers> bySymbol = new(StringComparer.Ordinal);
    private long subscriptionCount;

    /// <summary>Subscriptions over all sessions.</summary>
    public long SubscriptionCount => Interlocked.Read(ref subscriptionCount);

    public void OnQuoteChanged(Quote quote)
    {
        ArgumentNullException.ThrowIfNull(quote);
        if (bySymbol.TryGetValue(quote.Symbol, out var subscribers))
        {
            foreach (var session in subscribers.Snapshot())
            {
                session.OnQuote(quote);
            }
        }
    }

    internal void Add(string symbol, Session session)
    {
        if (bySymbol.GetOrAdd(symbol, static _ => new Subscribers()).Add(session))
        {
            Interlocked.Increment(ref subscriptionCount);
        }
    }

    internal void Remove(string symbol, Session session)
    {
        if (bySymbol.TryGetValue(symbol, out var subscribers) && subscribers.Remove(session))
        {
            Interlocked.Decrement(ref subscriptionCount);
        }

        // An empty entry stays: symbols are few and reused, and removing it would race with a new Add.
    }

    /// <summary>
    /// One symbol's sessions. Writes (subscribe, unsubscribe) take a lock and invalidate the cached array;
    /// the fan-out reads the array without a lock and rebuilds it at most once per change, so a connection
    /// storm costs O(changes), not O(changes x subscribers).
    /// </summary>
    private sealed class Subscribers
    {
        private readonly Lock gate = new();
        private readonly HashSet<Session> sessions = [];
        private Session[]? snapshot = [];

        public bool Add(Session session)
        {
            lock (gate)
            {
                if (!sessions.Add(session))
                {
                    return false;
                }

                Volatile.Write(ref snapshot, null);
                return true;
            }
        }

        public bool Remove(Session session)
        {
            lock (gate)
            {
                if (!sessions.Remove(session))
                {
                    return false;
                }

                Volatile.Write(ref snapshot, null);
                return true;
            }
        }

        public Session[] Snapshot()
        {
            var current = Volatile.Read(ref snapshot);
            if (current is not null)
            {
                return current;
            }

            lock (gate)
            {
                return snapshot ??= [.. sessions];
            }
        }
    }
}
