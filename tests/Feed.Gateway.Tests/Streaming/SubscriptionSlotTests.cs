using MarketStream.Contracts;
using MarketStream.Gateway.Streaming;

namespace MarketStream.Gateway.Tests.Streaming;

/// <summary>The subscription slot, the dirty list and the bounded queue, one step at a time.</summary>
public class SubscriptionSlotTests
{
    [Fact]
    public void A_slot_keeps_only_the_newest_quote_and_counts_what_it_replaced_from_the_versions()
    {
        using var core = new SubscriptionCore();
        core.Subscribe("AAPL");
        for (var i = 0; i < 5; i++)
        {
            core.Tick("AAPL", 100m + i);
        }

        Assert.Equal(1, core.Pending);
        var sent = Assert.Single(core.Take());
        Assert.Equal(104m, sent.Quote.Bid);
        Assert.Equal(4, sent.Conflated);
        Assert.Equal(0, sent.Dropped);
        Assert.Equal(0, core.Pending);
        Assert.Empty(core.Take());
    }

    [Fact]
    public void A_polling_session_costs_a_tick_nothing_and_a_parked_one_is_woken_once()
    {
        using var core = new SubscriptionCore();
        core.Subscribe("AAPL");
        core.Subscribe("MSFT");
        core.Tick("AAPL", 1m);
        core.Tick("MSFT", 2m);
        Assert.Equal(0, core.Wakes);
        Assert.Equal(2, core.Pending);

        core.Take();
        Assert.True(core.Subscriptions.Park());
        core.Tick("MSFT", 3m);
        Assert.Equal(1, core.Wakes);
        Assert.Equal(SessionSubscriptions.Polling, core.Subscriptions.Mode);
        core.Tick("MSFT", 4m);
        core.Tick("AAPL", 5m);
        Assert.Equal(1, core.Wakes);
    }

    [Fact]
    public void Pending_quotes_are_taken_once_each_in_subscription_order()
    {
        using var core = new SubscriptionCore();
        string[] symbols = ["C", "A", "D", "B"];
        foreach (var s in symbols)
        {
            core.Subscribe(s);
        }

        foreach (var s in symbols.Reverse().Concat(symbols).Concat(symbols))
        {
            core.Tick(s, 1m);
        }

        var batch = core.Take();
        Assert.Equal(symbols, batch.Select(q => q.Quote.Symbol));
        Assert.All(batch, q => Assert.Equal(2, q.Conflated));
    }

    [Fact]
    public void A_quote_not_newer_than_the_snapshot_is_never_sent()
    {
        using var core = new SubscriptionCore();
        var first = core.Tick("AAPL", 1m);
        var snapshot = core.Subscribe("AAPL");
        Assert.Equal(first, snapshot);

        // The writer offers the snapshot's own quote again (the tick that raced the subscribe).
        core.Index.Publish(first);
        Assert.Empty(core.Take());

        var next = core.Tick("AAPL", 2m);
        var sent = Assert.Single(core.Take());
        Assert.Equal(next.Seq, sent.Quote.Seq);
        Assert.Equal(0, sent.Conflated);
    }

    [Fact]
    public void An_unsubscribed_slot_sends_nothing_more_not_even_what_was_pending()
    {
        using var core = new SubscriptionCore();
        core.Subscribe("AAPL");
        core.Subscribe("MSFT");
        core.Tick("AAPL", 1m);
        core.Tick("MSFT", 1m);
        core.Unsubscribe("AAPL");
        core.Tick("AAPL", 2m);

        Assert.Equal(["MSFT"], core.Take().Select(q => q.Quote.Symbol));
        Assert.Equal(1, core.Index.SubscriptionCount);
    }

    [Theory]
    [InlineData(DeliveryPolicy.DropOldest)]
    [InlineData(DeliveryPolicy.DropNewest)]
    public void The_queue_ring_wraps_around_many_times_and_counts_every_drop_against_its_symbol(DeliveryPolicy policy)
    {
        using var core = new SubscriptionCore(policy, capacity: 16);
        core.Subscribe("A");
        core.Subscribe("B");
        var delivered = new List<OutgoingQuote>();

        // 16 slots, 37 quotes between two sends, 9 rounds: head and tail wrap past the end of the ring many times.
        for (var round = 0; round < 9; round++)
        {
            for (var i = 0; i < 37; i++)
            {
                core.Tick(i % 3 == 0 ? "B" : "A", 1m + i);
            }

            Assert.Equal(16, core.Pending);
            delivered.AddRange(core.Take());
        }

        foreach (var symbol in new[] { "A", "B" })
        {
            var mine = delivered.Where(q => q.Quote.Symbol == symbol).ToList();
            var ticks = core.State.TryGet(symbol, out var last) ? last.Version : 0;
            Assert.Equal(ticks, mine.Count + mine.Sum(q => q.Dropped));
            Assert.True(mine.Zip(mine.Skip(1)).All(p => p.First.Quote.Seq < p.Second.Quote.Seq));
            if (policy == DeliveryPolicy.DropOldest)
            {
                Assert.Equal(last.Seq, mine[^1].Quote.Seq);
            }
        }

        Assert.Equal(9 * (37 - 16), core.Stats.QuotesDropped);
    }

    [Fact]
    public void Under_disconnect_a_full_queue_overflows_instead_of_dropping()
    {
        using var core = new SubscriptionCore(DeliveryPolicy.Disconnect, capacity: 16);
        core.Subscribe("A");
        for (var i = 0; i < 16; i++)
        {
            core.Tick("A", 1m + i);
        }

        Assert.Equal(0, core.Overflows);
        core.Tick("A", 99m);
        Assert.Equal(1, core.Overflows);
        Assert.Equal(16, core.Pending);
    }

    [Fact]
    public void A_policy_change_carries_the_pending_quotes_with_their_counts_both_ways()
    {
        using var core = new SubscriptionCore(DeliveryPolicy.Conflate, capacity: 16);
        core.Subscribe("A");
        for (var i = 0; i < 5; i++)
        {
            core.Tick("A", 1m + i);
        }

        core.ChangePolicy(DeliveryPolicy.DropOldest);
        core.Tick("A", 10m);
        core.Tick("A", 11m);
        Assert.Equal(3, core.Pending);

        core.ChangePolicy(DeliveryPolicy.Conflate);
        var sent = Assert.Single(core.Take());
        Assert.Equal(11m, sent.Quote.Bid);
        Assert.Equal(6, sent.Conflated);
    }
}
