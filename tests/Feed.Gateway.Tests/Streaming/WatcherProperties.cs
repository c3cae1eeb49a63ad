using MarketStream.Contracts;
using MarketStream.Gateway.Streaming;

namespace MarketStream.Gateway.Tests.Streaming;

/// <summary>
/// The writer walks a symbol's subscribers only when one of them watches it (<see cref="SymbolFeed.Watchers"/>).
/// For random interleavings of ticks, subscribes, unsubscribes, throttle and policy changes, sends and parks (a
/// seeded generator), a parked session is always woken by the next tick of a symbol it holds, the watcher counts
/// are exactly what the sessions' states say, and a throttled session that polls is never walked.
/// </summary>
public class WatcherProperties
{
    private static readonly string[] Universe = ["A", "B", "C", "D"];
    private static readonly int[] Throttles = [0, 10, SessionSubscriptions.LazyThrottleMs, 100, 1000];
    private static readonly DeliveryPolicy[] Policies = [DeliveryPolicy.Conflate, DeliveryPolicy.Conflate, DeliveryPolicy.DropOldest, DeliveryPolicy.DropNewest];

    public static TheoryData<int> Seeds() => SeedData.UpTo(300);

    [Theory]
    [MemberData(nameof(Seeds))]
    public void A_parked_session_is_woken_by_a_tick_of_each_symbol_it_holds_and_counts_match(int seed)
    {
        var random = new Random(seed);
        using var core = new SubscriptionCore(Policies[random.Next(Policies.Length)], capacity: 64);
        var throttle = Throttles[random.Next(Throttles.Length)];
        var policy = core.Subscriptions.Policy;
        core.SetThrottle(throttle);
        var parked = false;
        var log = new List<string> { $"throttle {throttle}, {policy}" };
        string History() => $"seed {seed}: {string.Join(", ", log)}";

        for (var step = 0; step < 300; step++)
        {
            var symbol = Universe[random.Next(Universe.Length)];
            switch (random.Next(100))
            {
                case < 40:
                    var wakes = core.Wakes;
                    core.Tick(symbol, 1m + step);
                    log.Add($"tick {symbol}");
                    if (parked && core.Subscriptions.Contains(symbol))
                    {
                        Assert.True(core.Wakes > wakes, $"a parked session holding {symbol} was not woken by its tick; {History()}");
                        parked = false;
                    }

                    break;
                case < 55:
                    lock (core.Subscriptions.Gate)
                    {
                        if (!core.Subscriptions.Contains(symbol))
                        {
                            core.Subscriptions.Subscribe(symbol, core.State);
                        }
                    }

                    log.Add($"subscribe {symbol}");
                    break;
                case < 65:
                    core.Unsubscribe(symbol);
                    log.Add($"unsubscribe {symbol}");
                    break;
                case < 70:
                    throttle = Throttles[random.Next(Throttles.Length)];
                    core.SetThrottle(throttle);
                    log.Add($"throttle {throttle}");
                    break;
                case < 74:
                    policy = Policies[random.Next(Policies.Length)];
                    core.ChangePolicy(policy);
                    parked = false;
                    log.Add($"configure {policy}");
                    break;
                case < 87:
                    core.Take();
                    parked = false;
                    log.Add("send");
                    break;
                default:
                    parked = core.TryPark([]) ;
                    log.Add(parked ? "park" : "park (found quotes)");
                    break;
            }

            AssertCounts(core, policy, throttle, History);
        }
    }

    /// <summary>Each feed counts this session exactly when it must: a queue policy, a fast throttle, or parked.</summary>
    private static void AssertCounts(SubscriptionCore core, DeliveryPolicy policy, int throttle, Func<string> history)
    {
        var mustWatch = policy != DeliveryPolicy.Conflate || throttle < SessionSubscriptions.LazyThrottleMs
            || core.Subscriptions.Mode == SessionSubscriptions.Parked;
        foreach (var symbol in Universe)
        {
            var expected = mustWatch && core.Subscriptions.Contains(symbol) ? 1 : 0;
            var watchers = core.Index.Feed(symbol).Watchers;

            // A session the writer woke (back to polling) stops counting on its sender's next look, not at once.
            var wokenNotYetSynced = watchers == 1 && expected == 0 && core.Subscriptions.Mode == SessionSubscriptions.Polling && core.Subscriptions.Contains(symbol);
            Assert.True(watchers == expected || wokenNotYetSynced, $"{symbol}: {watchers} watcher(s), expected {expected} (mode {core.Subscriptions.Mode}); {history()}");
        }
    }
}
