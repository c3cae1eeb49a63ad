using System.Text;
using MarketStream.Contracts;

namespace MarketStream.Contracts.Tests;

public class TickDecoderTests
{
    private readonly TickDecoder decoder = new();

    private TickRejectReason Decode(string json, out Tick? tick) => decoder.Decode(Encoding.UTF8.GetBytes(json), out tick);

    [Fact]
    public void A_full_tick_decodes_every_field()
    {
        var reason = Decode("""{"symbol":"aapl","ts":1795356633535123,"bid":189.12,"ask":189.14,"bidSize":100,"askSize":300,"last":189.13,"lastSize":50,"venue":"XNAS"}""", out var tick);

        Assert.Equal(TickRejectReason.None, reason);
        Assert.NotNull(tick);
        Assert.Equal("AAPL", tick.Symbol);
        Assert.Equal(1795356633535123L, tick.Ts);
        Assert.Equal(189.12m, tick.Bid);
        Assert.Equal(189.14m, tick.Ask);
        Assert.Equal(189.13m, tick.Last);
        Assert.Equal(100L, tick.BidSize);
        Assert.Equal(300L, tick.AskSize);
        Assert.Equal(50L, tick.LastSize);
        Assert.Equal("XNAS", tick.Venue);
    }

    [Fact]
    public void A_partial_tick_leaves_absent_fields_unset()
    {
        Assert.Equal(TickRejectReason.None, Decode("""{"symbol":"MSFT","ts":5,"last":415.3}""", out var tick));
        Assert.Equal(415.3m, tick!.Last);
        Assert.Null(tick.Bid);
        Assert.Null(tick.Ask);
        Assert.Null(tick.BidSize);
        Assert.Null(tick.Venue);
    }

    [Theory]
    [InlineData("", TickRejectReason.NotJson)]
    [InlineData("not json", TickRejectReason.NotJson)]
    [InlineData("""{"symbol":"AAPL","ts":1,"bid":1""", TickRejectReason.NotJson)]
    [InlineData("""{"symbol":"AAPL","ts":1,"bid":1}{}""", TickRejectReason.NotJson)]
    [InlineData("""{"symbol":"AAPL","ts":1,"bid":1} x""", TickRejectReason.NotJson)]
    [InlineData("""[{"symbol":"AAPL","ts":1,"bid":1}]""", TickRejectReason.NotObject)]
    [InlineData("42", TickRejectReason.NotObject)]
    [InlineData("\"AAPL\"", TickRejectReason.NotObject)]
    [InlineData("null", TickRejectReason.NotObject)]
    [InlineData("""{"ts":1,"bid":1}""", TickRejectReason.MissingSymbol)]
    [InlineData("""{"symbol":"","ts":1,"bid":1}""", TickRejectReason.InvalidSymbol)]
    [InlineData("""{"symbol":"??","ts":1,"bid":1}""", TickRejectReason.InvalidSymbol)]
    [InlineData("""{"symbol":".AAPL","ts":1,"bid":1}""", TickRejectReason.InvalidSymbol)]
    [InlineData("""{"symbol":"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456","ts":1,"bid":1}""", TickRejectReason.InvalidSymbol)]
    [InlineData("""{"symbol":42,"ts":1,"bid":1}""", TickRejectReason.InvalidSymbol)]
    [InlineData("""{"symbol":"AAPL","bid":1}""", TickRejectReason.MissingTs)]
    [InlineData("""{"symbol":"AAPL","ts":"1","bid":1}""", TickRejectReason.InvalidTs)]
    [InlineData("""{"symbol":"AAPL","ts":1.5,"bid":1}""", TickRejectReason.InvalidTs)]
    [InlineData("""{"symbol":"AAPL","ts":{"us":1},"bid":1}""", TickRejectReason.InvalidTs)]
    [InlineData("""{"symbol":"AAPL","ts":1,"bid":fals}""", TickRejectReason.NotJson)]
    [InlineData("""{"symbol":"AAPL","ts":-3,"bid":1}""", TickRejectReason.InvalidTs)]
    [InlineData("""{"symbol":"AAPL","ts":1}""", TickRejectReason.NoPrice)]
    [InlineData("""{"symbol":"AAPL","ts":1,"bidSize":100}""", TickRejectReason.NoPrice)]
    [InlineData("""{"symbol":"AAPL","ts":1,"bid":0}""", TickRejectReason.InvalidPrice)]
    [InlineData("""{"symbol":"AAPL","ts":1,"bid":-1.5}""", TickRejectReason.InvalidPrice)]
    [InlineData("""{"symbol":"AAPL","ts":1,"bid":"189.12"}""", TickRejectReason.InvalidPrice)]
    [InlineData("""{"symbol":"AAPL","ts":1,"bid":null}""", TickRejectReason.InvalidPrice)]
    [InlineData("""{"symbol":"AAPL","ts":1,"ask":1e400}""", TickRejectReason.InvalidPrice)]
    [InlineData("""{"symbol":"AAPL","ts":1,"bid":1,"bidSize":-1}""", TickRejectReason.InvalidSize)]
    [InlineData("""{"symbol":"AAPL","ts":1,"bid":1,"askSize":1.5}""", TickRejectReason.InvalidSize)]
    [InlineData("""{"symbol":"AAPL","ts":1,"bid":1,"lastSize":"10"}""", TickRejectReason.InvalidSize)]
    [InlineData("""{"symbol":"AAPL","ts":1,"bid":1,"venue":"ABCDEFGHIJKLMNOPQ"}""", TickRejectReason.InvalidVenue)]
    [InlineData("""{"symbol":"AAPL","ts":1,"bid":1,"venue":7}""", TickRejectReason.InvalidVenue)]
    public void A_bad_record_is_rejected_with_its_reason(string json, TickRejectReason expected)
    {
        Assert.Equal(expected, Decode(json, out var tick));
        Assert.Null(tick);
    }

    [Fact]
    public void A_record_larger_than_any_tick_is_rejected_as_too_large()
    {
        var padded = """{"symbol":"AAPL","ts":1,"bid":1,"pad":" """ + new string('x', TickDecoder.MaxRecordBytes) + "\"}";
        Assert.Equal(TickRejectReason.TooLarge, Decode(padded, out var tick));
        Assert.Null(tick);
    }

    [Fact]
    public void Every_reject_reason_a_decoder_can_give_has_a_case_in_the_table()
    {
        var covered = typeof(TickDecoderTests).GetMethod(nameof(A_bad_record_is_rejected_with_its_reason))!
            .GetCustomAttributes(typeof(InlineDataAttribute), false)
            .Cast<InlineDataAttribute>()
            .Select(a => (TickRejectReason)a.GetData(null!).Single()[1])
            .ToHashSet();

        // OutOfOrder is decided by the market state, not by the decoder; TooLarge has a test of its own.
        var expected = TickRejectReasons.All.Where(r => r is not TickRejectReason.OutOfOrder and not TickRejectReason.TooLarge);
        Assert.All(expected, r => Assert.Contains(r, covered));
    }

    [Theory]
    [InlineData("189.12")]
    [InlineData("189.10")]
    [InlineData("0.0001")]
    [InlineData("1.0842")]
    [InlineData("99999999.99999999")]
    public void A_price_comes_out_exactly_as_it_went_in(string price)
    {
        Assert.Equal(TickRejectReason.None, Decode($$"""{"symbol":"AAPL","ts":1,"bid":{{price}}}""", out var tick));
        var quote = Quote.From(tick!, 1);
        var json = ProtocolJson.QuoteToString(quote);
        Assert.Contains($"\"bid\":{price},", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_fields_of_any_shape_are_ignored()
    {
        var reason = Decode("""{"extra":{"nested":[1,2,{"x":null}]},"symbol":"IBM","flag":true,"ts":9,"bid":1.5,"more":"text"}""", out var tick);
        Assert.Equal(TickRejectReason.None, reason);
        Assert.Equal("IBM", tick!.Symbol);
    }

    [Fact]
    public void Escaped_names_and_values_mean_what_JSON_says()
    {
        var reason = Decode("""{"\u0073ymbol":"a\u0061pl","ts":1,"\u0062id":2.5}""", out var tick);
        Assert.Equal(TickRejectReason.None, reason);
        Assert.Equal("AAPL", tick!.Symbol);
        Assert.Equal(2.5m, tick.Bid);
    }

    [Fact]
    public void Symbols_with_every_allowed_character_are_normalised_to_upper_case()
    {
        Assert.Equal(TickRejectReason.None, Decode("""{"symbol":"fx:eur/usd-1.b_2","ts":1,"bid":1}""", out var tick));
        Assert.Equal("FX:EUR/USD-1.B_2", tick!.Symbol);
    }

    [Fact]
    public void Repeated_symbols_share_one_string()
    {
        Decode("""{"symbol":"AAPL","ts":1,"bid":1}""", out var a);
        Decode("""{"symbol":"aapl","ts":2,"bid":1}""", out var b);
        Assert.Same(a!.Symbol, b!.Symbol);
    }

    [Fact]
    public void Random_bytes_never_throw_out_of_the_decoder()
    {
        var random = new Random(12345);
        var seeds = new[]
        {
            """{"symbol":"AAPL","ts":1795356633535123,"bid":189.12,"ask":189.14,"venue":"XNAS"}"""u8.ToArray(),
            """[1,{"a":[{"b":null}]},"x"]"""u8.ToArray(),
        };
        for (var i = 0; i < 20_000; i++)
        {
            byte[] input;
            if (i % 2 == 0)
            {
                input = new byte[random.Next(0, 64)];
                random.NextBytes(input);
            }
            else
            {
                // Mutations of valid JSON reach deeper into the reader than pure noise.
                input = (byte[])seeds[i % seeds.Length].Clone();
                for (var m = random.Next(1, 4); m > 0; m--)
                {
                    input[random.Next(input.Length)] = (byte)random.Next(256);
                }
            }

            var reason = decoder.Decode(input, out var tick);
            Assert.Equal(reason == TickRejectReason.None, tick is not null);
        }
    }

    [Fact]
    public void Deep_nesting_is_rejected_not_thrown()
    {
        var deep = "{\"symbol\":\"A\",\"ts\":1,\"bid\":1,\"x\":" + new string('[', 5000) + new string(']', 5000) + "}";
        Assert.Equal(TickRejectReason.NotJson, Decode(deep, out _));
    }
}
