using System.Diagnostics.Metrics;
using MarketStream.Contracts;
using MarketStream.Gateway.Market;
using MarketStream.Gateway.Streaming;
using MarketStream.Ingest;

namespace MarketStream.Gateway.Tests.Streaming;

/// <summary>
/// The fan-out core without a sender or a transport: a market state, the index, and one session's
/// <see cref="SessionSubscriptions"/>, driven step by step from the test's thread (it plays the writer and the
/// sender), so every interleaving a test builds is exactly the one that runs.
/// </summary>
internal sealed class SubscriptionCore : ISessionSignals, IDisposable
{
    private readonly ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly Dictionary<string, long> offsets = new(StringComparer.Ordinal);

    public SubscriptionCore(DeliveryPolicy policy = DeliveryPolicy.Conflate, int capacity = 16)
    {
        Stats = new GatewayStats(services.GetRequiredService<IMeterFactory>(), Index);
        Subscriptions = new SessionSubscriptions(Index, Stats, capacity, policy, this);
    }

    public MarketState State { get; } = new();

    public SubscriptionIndex Index { get; } = new();

    public GatewayStats Stats { get; }

    public SessionSubscriptions Subscriptions { get; }

    public int Wakes { get; private set; }

    public int Overflows { get; private set; }

    void ISessionSignals.OnDirty() => Wakes++;

    void ISessionSignals.OnOverflowLocked() => Overflows++;

    /// <summary>A tick merged at the symbol's next offset and fanned out, as the writer does.</summary>
    public Quote Tick(string symbol, decimal bid) => Tick(new Tick { Symbol = symbol, Ts = 1, Bid = bid });

    /// <summary>A tick with any fields, merged at the symbol's next offset (its ts set from the offset) and fanned out.</summary>
    public Quote Tick(Tick fields)
    {
        var symbol = fields.Symbol;
        var offset = offsets.GetValueOrDefault(symbol);
        offsets[symbol] = offset + 1;
        var tick = new Tick { Symbol = symbol, Ts = 1_000 + offset, Bid = fields.Bid, Ask = fields.Ask, Last = fields.Last, BidSize = fields.BidSize, AskSize = fields.AskSize, LastSize = fields.LastSize, Venue = fields.Venue };
        var quote = State.Apply(new TickEnvelope(tick, 0, offset, default))!;
        Index.Publish(quote);
        return quote;
    }

    public Quote? Subscribe(string symbol)
    {
        lock (Subscriptions.Gate)
        {
            return Subscriptions.Subscribe(symbol, State);
        }
    }

    public void Unsubscribe(string symbol)
    {
        lock (Subscriptions.Gate)
        {
            Subscriptions.Unsubscribe(symbol);
        }
    }

    public void ChangePolicy(DeliveryPolicy policy)
    {
        lock (Subscriptions.Gate)
        {
            Subscriptions.ChangePolicy(policy);
        }
    }

    public void SetThrottle(int throttleMs)
    {
        lock (Subscriptions.Gate)
        {
            Subscriptions.SetThrottle(throttleMs);
        }
    }

    /// <summary>
    /// What the sender does when it finds nothing to send: parks, then looks again (a tick may have come in
    /// between) and takes back the park if something is there. True if it stays parked.
    /// </summary>
    public bool TryPark(List<OutgoingQuote> taken)
    {
        lock (Subscriptions.Gate)
        {
            Subscriptions.TakePending(taken);
            if (taken.Count > 0)
            {
                return false;
            }

            var parked = Subscriptions.Park();
            Subscriptions.TakePending(taken);
            if (taken.Count > 0)
            {
                if (parked)
                {
                    Subscriptions.CancelPark();
                }

                return false;
            }

            return parked;
        }
    }

    /// <summary>What the sender would put in the next frame.</summary>
    public List<OutgoingQuote> Take()
    {
        var batch = new List<OutgoingQuote>();
        lock (Subscriptions.Gate)
        {
            Subscriptions.TakePending(batch);
        }

        return batch;
    }

    public int Pending
    {
        get
        {
            lock (Subscriptions.Gate)
            {
                return Subscriptions.PendingCount;
            }
        }
    }

    public void Dispose() => services.Dispose();
}
