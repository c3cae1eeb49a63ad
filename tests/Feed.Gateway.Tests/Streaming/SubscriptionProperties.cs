using MarketStream.Contracts;
using MarketStream.Gateway.Streaming;

namespace MarketStream.Gateway.Tests.Streaming;

/// <summary>
/// For random interleavings of ticks, subscribes, unsubscribes, policy changes and sends (a seeded generator:
/// each seed is one reproducible case), the stream one client receives is exactly what PROTOCOL.md promises;
/// and under the <c>delta</c> extension, the snapshot and the changed-fields quotes written against each quote's
/// baseline rebuild every quote exactly (ticks carry random subsets of the fields, so fields go from absent to
/// present, and prices change scale).
/// </summary>
public class SubscriptionProperties
{
    private static readonly string[] Universe = ["A", "B", "C", "D", "E"];
    private static readonly DeliveryPolicy[] Policies = [DeliveryPolicy.Conflate, DeliveryPolicy.DropOldest, DeliveryPolicy.DropNewest, DeliveryPolicy.Disconnect];

    public static TheoryData<int> Seeds() => SeedData.UpTo(400);

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Every_client_stream_is_what_the_protocol_promises(int seed)
    {
        var random = new Random(seed);
        // A small queue and, in some cases, rare sends: drops, overflows and policy changes with drops pending
        // must all happen often for the property to mean something.
        const int Capacity = 4;
        var sendPercent = random.Next(3, 25);
        var policy = Policies[random.Next(Policies.Length)];
        using var core = new SubscriptionCore(policy, Capacity);
        var client = new ClientView();
        var steps = random.Next(50, 400);
        var log = new List<string>();
        long Merged(string symbol) => core.State.TryGet(symbol, out var q) ? q.Version : 0;

        for (var step = 0; step < steps && core.Overflows == 0; step++)
        {
            var symbol = Universe[random.Next(Universe.Length)];
            var roll = random.Next(100 - 20 + sendPercent);
            if (roll < 60)
            {
                core.Tick(RandomTick(random, symbol, step));
                log.Add($"tick {symbol}");
            }
            else if (roll < 70)
            {
                lock (core.Subscriptions.Gate)
                {
                    if (!core.Subscriptions.Contains(symbol))
                    {
                        client.Snapshot(symbol, core.Subscriptions.Subscribe(symbol, core.State));
                    }
                }

                log.Add($"subscribe {symbol}");
            }
            else if (roll < 76)
            {
                core.Unsubscribe(symbol);
                client.Unsubscribed(symbol);
                log.Add($"unsubscribe {symbol}");
            }
            else if (roll < 80)
            {
                policy = Policies[random.Next(Policies.Length - 1)];
                core.ChangePolicy(policy);
                log.Add($"configure {policy}");
            }
            else
            {
                client.Frame(core.Take(), Merged, () => string.Join(", ", log));
                log.Add("send");
            }

            var bound = policy == DeliveryPolicy.Conflate ? Universe.Length : Capacity + Universe.Length;
            Assert.True(core.Pending <= bound, $"seed {seed}: {core.Pending} pending under {policy}");
        }

        if (core.Overflows > 0)
        {
            // Under disconnect the session closes on overflow; what it sent until then was already checked.
            Assert.True(policy == DeliveryPolicy.Disconnect, $"seed {seed}: overflow under {policy}; {string.Join(", ", log)}");
            return;
        }

        // A last send delivers everything pending; then one more tick of every symbol, sent on its own, tells any
        // drop not told yet. Now every subscribed symbol's newest state has reached the client, and every tick
        // since its snapshot is accounted for, exactly.
        client.Frame(core.Take(), Merged, () => string.Join(", ", log));
        Assert.Equal(0, core.Pending);
        foreach (var symbol in Universe)
        {
            core.Tick(symbol, 0.5m);
            client.Frame(core.Take(), Merged, () => string.Join(", ", log));
        }

        foreach (var symbol in client.Subscribed)
        {
            Assert.True(core.State.TryGet(symbol, out var current));
            Assert.True(current.Seq == client.LastSeq(symbol), $"seed {seed}: {symbol} at {client.LastSeq(symbol)}, state at {current.Seq}; {string.Join(", ", log)}");
            Assert.True(client.Accounted(symbol) == current.Version, $"seed {seed}: {symbol}: {client.Accounted(symbol)} ticks accounted for, {current.Version} merged; {string.Join(", ", log)}");
        }
    }

    /// <summary>A tick with at least one price and any subset of the other fields; prices sometimes end in a zero (scale matters).</summary>
    private static Tick RandomTick(Random random, string symbol, int step)
    {
        decimal? Price() => random.Next(3) switch
        {
            0 => null,
            1 => 100m + (step % 7) + 0.5m,
            _ => decimal.Parse($"{100 + (step % 5)}.{random.Next(0, 3) * 10:00}", System.Globalization.CultureInfo.InvariantCulture),
        };
        long? Size() => random.Next(3) == 0 ? null : random.Next(1, 4) * 100;
        var bid = Price() ?? 99.5m;
        return new Tick
        {
            Symbol = symbol,
            Ts = 1,
            Bid = bid,
            Ask = Price(),
            Last = Price(),
            BidSize = Size(),
            AskSize = Size(),
            LastSize = Size(),
            Venue = random.Next(4) switch { 0 => null, 1 => "XNAS", 2 => "ARCX", _ => "XNYS" },
        };
    }

    /// <summary>What one client has seen, checked as each message arrives.</summary>
    private sealed class ClientView
    {
        // Per subscribed symbol: the last seq received, and the ticks accounted for since the start of the
        // symbol's state (the snapshot's, then each quote's 1 + conflated + dropped).
        private readonly Dictionary<string, (long Seq, long Accounted)> last = new(StringComparer.Ordinal);

        public IEnumerable<string> Subscribed => last.Keys;

        public long LastSeq(string symbol) => last.TryGetValue(symbol, out var l) ? l.Seq : 0;

        public long Accounted(string symbol) => last.TryGetValue(symbol, out var l) ? l.Accounted : 0;

        // Per symbol: the quote rebuilt from the snapshot and the delta-encoded quotes, as a delta client holds it.
        private readonly Dictionary<string, Quote?> held = new(StringComparer.Ordinal);

        public void Snapshot(string symbol, Quote? quote)
        {
            last[symbol] = quote is null ? (0, 0) : (quote.Seq, quote.Version);
            held[symbol] = quote;
        }

        public void Unsubscribed(string symbol)
        {
            last.Remove(symbol);
            held.Remove(symbol);
        }

        public void Frame(List<OutgoingQuote> quotes, Func<string, long> merged, Func<string> history)
        {
            Assert.Equal(quotes.Count, quotes.Select(q => q.Quote.Symbol).Distinct().Count() + quotes.GroupBy(q => q.Quote.Symbol).Sum(g => g.Count() - 1));
            foreach (var (quote, conflated, dropped, baseline, baselineKey, _) in quotes)
            {
                // The quote as the wire carries it under delta (against the baseline the session recorded, or
                // whole without one), read back and laid over what this client holds: it must be the quote.
                Assert.True(Equals(baseline, held.GetValueOrDefault(quote.Symbol)), $"{quote.Symbol}: the session's baseline is not the client's last quote; {history()}");
                Assert.True(baseline is null || baseline.Key == baselineKey, $"{quote.Symbol}: the baseline's key as the session kept it is not the baseline's; {history()}");
                var wire = new System.Buffers.ArrayBufferWriter<byte>();
                if (baseline is not null)
                {
                    QuoteWriter.WriteDelta(wire, quote, baseline, conflated, dropped);
                }
                else
                {
                    QuoteWriter.WriteSpliced(wire, quote, conflated, dropped);
                }

                var reader = new System.Text.Json.Utf8JsonReader(wire.WrittenSpan);
                reader.Read();
                var received = QuoteReader.Read(ref reader, out var readConflated, out var readDropped);
                var rebuilt = baseline is null ? received : baseline.Apply(received);
                Assert.True(rebuilt == quote, $"{quote.Symbol}: rebuilt {rebuilt}, sent {quote}; {history()}");
                Assert.Equal((conflated, dropped), (readConflated, readDropped));
                held[quote.Symbol] = rebuilt;

                // Never a symbol not subscribed, never before its snapshot, seq strictly increasing; conflated counts
                // exactly the ticks between two quotes that were neither sent nor dropped, and no tick is told twice.
                Assert.True(last.TryGetValue(quote.Symbol, out var before), $"{quote.Symbol} after its unsubscribe; {history()}");
                Assert.True(quote.Seq > before.Seq, $"{quote.Symbol}: seq {quote.Seq} after {before.Seq}; {history()}");
                Assert.True(conflated >= 0 && dropped >= 0, $"{quote.Symbol}: conflated {conflated}, dropped {dropped}; {history()}");
                var accounted = before.Accounted + 1 + conflated + dropped;
                Assert.True(accounted <= merged(quote.Symbol), $"{quote.Symbol}: {accounted} ticks accounted for, {merged(quote.Symbol)} merged; {history()}");
                last[quote.Symbol] = (quote.Seq, accounted);
            }
        }
    }
}
