namespace MarketStream.Client.Tests;

public class QuoteBufferTests
{
    [Fact]
    public void A_newer_quote_replaces_the_unread_one_and_counts_it_as_conflated()
    {
        var counters = new FeedClientCounters();
        var buffer = new QuoteBuffer(100, counters);

        buffer.Add(Update("AAPL", 1, conflated: 2, dropped: 1, snapshot: true));
        buffer.Add(Update("MSFT", 2));
        buffer.Add(Update("AAPL", 3, conflated: 4));

        Assert.Equal(2, buffer.Count);
        Assert.True(buffer.TryRead(out var first));
        Assert.Equal(("AAPL", 3L), (first.Symbol, first.Seq));
        Assert.Equal(2 + 1 + 4, first.Conflated);
        Assert.Equal(1, first.Dropped);
        Assert.False(first.IsSnapshot);
        Assert.True(buffer.TryRead(out var second));
        Assert.Equal("MSFT", second.Symbol);
        Assert.Equal(1, counters.QuotesCoalesced);
    }

    [Fact]
    public void At_capacity_the_oldest_symbol_is_dropped_and_counted()
    {
        var counters = new FeedClientCounters();
        var buffer = new QuoteBuffer(2, counters);

        buffer.Add(Update("A", 1));
        buffer.Add(Update("B", 1));
        buffer.Add(Update("C", 1));

        Assert.Equal(2, buffer.Count);
        Assert.Equal(1, counters.BufferDropped);
        Assert.True(buffer.TryRead(out var first));
        Assert.Equal("B", first.Symbol);
    }

    [Fact]
    public async Task A_waiting_reader_wakes_on_a_quote_and_finishes_after_completion()
    {
        var buffer = new QuoteBuffer(10, new FeedClientCounters());
        var waiting = buffer.WaitToReadAsync(CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);

        buffer.Add(Update("A", 1));
        Assert.True(await Wait.For(waiting));
        Assert.True(buffer.TryRead(out _));

        buffer.Complete();
        Assert.False(await Wait.For(buffer.WaitToReadAsync(CancellationToken.None).AsTask()));
    }

    private static QuoteUpdate Update(string symbol, long seq, int conflated = 0, int dropped = 0, bool snapshot = false) =>
        new(new Quote { Symbol = symbol, Seq = seq, Ts = 1, Last = 1m }, conflated, dropped, snapshot);
}
