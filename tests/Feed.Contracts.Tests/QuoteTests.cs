using MarketStream.Contracts;

namespace MarketStream.Contracts.Tests;

public class QuoteTests
{
    /// <summary>A tick with every field, shared by the quote tests.</summary>
    internal static readonly Tick Full = new()
    {
        Symbol = "AAPL", Ts = 100, Bid = 189.12m, Ask = 189.14m, BidSize = 100, AskSize = 300, Last = 189.13m, LastSize = 50, Venue = "XNAS",
    };

    [Fact]
    public void A_partial_tick_replaces_what_it_carries_and_keeps_the_rest()
    {
        var quote = Quote.From(Full, seq: 1).Merge(new Tick { Symbol = "AAPL", Ts = 200, Bid = 189.13m, BidSize = 200 }, seq: 2);

        Assert.Equal(2, quote.Seq);
        Assert.Equal(200, quote.Ts);
        Assert.Equal(189.13m, quote.Bid);
        Assert.Equal(200L, quote.BidSize);
        Assert.Equal(189.14m, quote.Ask);
        Assert.Equal(300L, quote.AskSize);
        Assert.Equal(189.13m, quote.Last);
        Assert.Equal(50L, quote.LastSize);
        Assert.Equal("XNAS", quote.Venue);
    }

    [Fact]
    public void A_merge_leaves_the_earlier_quote_untouched()
    {
        var first = Quote.From(Full, seq: 1);
        _ = first.Merge(new Tick { Symbol = "AAPL", Ts = 200, Last = 1m }, seq: 2);
        Assert.Equal(189.13m, first.Last);
        Assert.Equal(1, first.Seq);
    }

    [Fact]
    public void A_quote_is_written_in_protocol_order_with_only_known_fields()
    {
        var quote = Quote.From(new Tick { Symbol = "MSFT", Ts = 7, Last = 415.30m }, seq: 42);
        Assert.Equal("""{"symbol":"MSFT","seq":42,"last":415.30,"ts":7}""", ProtocolJson.QuoteToString(quote));
    }

    [Fact]
    public void Conflated_and_dropped_appear_only_when_positive()
    {
        var quote = Quote.From(Full, seq: 3);
        Assert.DoesNotContain("conflated", ProtocolJson.QuoteToString(quote), StringComparison.Ordinal);
        Assert.EndsWith(""","venue":"XNAS","conflated":3,"dropped":2}""", ProtocolJson.QuoteToString(quote, conflated: 3, dropped: 2), StringComparison.Ordinal);
    }

    [Fact]
    public void A_tick_encoded_for_Kafka_decodes_to_the_same_tick()
    {
        var decoded = new TickDecoder().Decode(TickEncoder.ToUtf8(Full), out var tick);
        Assert.Equal(TickRejectReason.None, decoded);
        Assert.Equivalent(Full, tick);
    }
}
