using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using MarketStream.Contracts;

namespace MarketStream.Contracts.Tests;

/// <summary>
/// A quote's shared wire body and the places of its names: what a compressor that keeps its context relies on to
/// find repeats without searching.
/// </summary>
public class QuoteBodyTests
{
    private static readonly Tick Full = QuoteTests.Full;

    [Fact]
    public void Every_part_of_a_whole_body_starts_where_its_name_is_in_wire_order()
    {
        var body = Quote.From(Full, seq: 7).Body;
        var text = body.Span;

        Assert.Equal(QuoteBody.PartCount, body.Parts.Length);
        Assert.Equal(QuoteBody.Order.ToArray(), body.Parts.ToArray());
        foreach (var part in body.Parts)
        {
            Assert.True(text[body.Starts[part]..].StartsWith(QuoteBody.NameOf(part)), $"part {part} at {body.Starts[part]}");
        }

        Assert.Equal(0, body.Starts[QuoteBody.Symbol]);
        var starts = body.Parts.ToArray().Select(p => (int)body.Starts[p]).ToArray();
        Assert.Equal(starts.Order().ToArray(), starts);
        Assert.Equal(Encoding.UTF8.GetBytes("""{"symbol":"AAPL","seq":7,"bid":189.12,"ask":189.14,"bidSize":100,"askSize":300,"last":189.13,"lastSize":50,"ts":100,"venue":"XNAS" """.TrimEnd()), body.Span.ToArray());
    }

    [Fact]
    public void Absent_fields_have_no_place_and_a_changed_fields_body_places_only_what_it_carries()
    {
        var first = Quote.From(new Tick { Symbol = "MSFT", Ts = 1, Bid = 1.5m, Venue = "XNAS" }, seq: 1);
        Assert.Equal(-1, first.Body.Starts[QuoteBody.PartOf(QuoteFields.Ask)]);
        Assert.Equal([QuoteBody.Symbol, QuoteBody.Seq, (byte)QuoteBody.PartOf(QuoteFields.Bid), QuoteBody.Ts, (byte)QuoteBody.PartOf(QuoteFields.Venue)], first.Body.Parts.ToArray());

        var second = first.Merge(new Tick { Symbol = "MSFT", Ts = 2, Ask = 1.7m, Venue = "XNAS" }, seq: 2);
        var delta = second.DeltaBody(first);
        Assert.Equal("""{"symbol":"MSFT","seq":2,"ask":1.7,"ts":2""", Encoding.UTF8.GetString(delta.Span));
        Assert.Equal([QuoteBody.Symbol, QuoteBody.Seq, (byte)QuoteBody.PartOf(QuoteFields.Ask), QuoteBody.Ts], delta.Parts.ToArray());
        foreach (var part in delta.Parts)
        {
            Assert.True(delta.Span[delta.Starts[part]..].StartsWith(QuoteBody.NameOf(part)));
        }

        Assert.Equal(-1, delta.Starts[QuoteBody.PartOf(QuoteFields.Bid)]);
    }

    [Fact]
    public void A_body_refuses_places_that_are_not_where_the_names_are()
    {
        var utf8 = """{"symbol":"V","seq":1,"ts":2"""u8.ToArray();
        short[] Starts(short seq, short ts)
        {
            var starts = Enumerable.Repeat((short)-1, QuoteBody.PartCount).ToArray();
            starts[QuoteBody.Symbol] = 0;
            starts[QuoteBody.Seq] = seq;
            starts[QuoteBody.Ts] = ts;
            return starts;
        }

        Assert.Equal(3, new QuoteBody(utf8, Starts(13, 21)).Parts.Length);
        Assert.Throws<ArgumentException>(() => new QuoteBody(utf8, Starts(14, 21)));
        Assert.Throws<ArgumentException>(() => new QuoteBody(utf8, Starts(21, 13)));
        Assert.Throws<ArgumentException>(() => new QuoteBody(utf8, Starts(13, 90)));
        Assert.Throws<ArgumentException>(() => new QuoteBody(utf8, [0, 14]));
    }

    [Fact]
    public void The_changed_fields_body_for_a_baseline_is_written_once_and_shared()
    {
        var quotes = new List<Quote> { Quote.From(Full, seq: 1) };
        for (var i = 2; i <= 8; i++)
        {
            quotes.Add(quotes[^1].Merge(new Tick { Symbol = "AAPL", Ts = i, Bid = 189m + i }, seq: i));
        }

        var latest = quotes[^1];
        Assert.Same(latest.DeltaBody(quotes[5]), latest.DeltaBody(quotes[5]));

        // More baselines than are remembered: each still gets its own body, never another baseline's.
        foreach (var baseline in quotes.Take(7).Concat(quotes.Take(7)))
        {
            var delta = latest.DeltaBody(baseline);
            Assert.Equal(latest, baseline.Apply(ReadQuote(delta)));
        }
    }

    [Fact]
    public void A_baseline_given_with_its_kept_key_finds_the_same_body_and_a_key_that_is_not_its_own_is_refused()
    {
        var first = Quote.From(Full, seq: 1);
        var second = first.Merge(new Tick { Symbol = "AAPL", Ts = 2, Bid = 190m }, seq: 2);
        var third = second.Merge(new Tick { Symbol = "AAPL", Ts = 3, Ask = 191m }, seq: 3);
        Assert.Equal(new QuoteKey(2, second.Version), second.Key);

        var written = third.DeltaBody(second, second.Key);
        Assert.Same(written, third.DeltaBody(second));
        Assert.Same(written, third.DeltaBody(second, second.Key));
        Assert.Equal(third, second.Apply(ReadQuote(written)));

        // A key that is not the baseline's is refused when the body has to be written, not answered with another body.
        var error = Assert.Throws<ArgumentException>(() => third.DeltaBody(first, second.Key with { Seq = 99 }));
        Assert.Contains("seq 1", error.Message);
        Assert.Equal(third, first.Apply(ReadQuote(third.DeltaBody(first, first.Key))));
    }

    [Fact]
    public void What_is_remembered_against_another_body_is_kept_per_body_and_does_not_keep_it_alive()
    {
        var body = Quote.From(Full, seq: 2).Body;
        var (other, calls) = (Quote.From(Full, seq: 1).Body, 0);
        BodyPair Work(QuoteBody self, QuoteBody against)
        {
            calls++;
            return new Lengths(against.Number, $"{self.Length}/{against.Length}");
        }

        var first = body.Against(other, other.Number, Work);
        Assert.Same(first, body.Against(other, other.Number, Work));
        Assert.Equal(1, calls);
        var third = Quote.From(Full, seq: 3).Body;
        Assert.NotSame(first, body.Against(third, third.Number, Work));
        Assert.Equal(2, calls);
        Assert.NotEqual(other.Number, third.Number);

        // A number that is not the body's is refused, not taken for another body's result.
        Assert.Throws<ArgumentException>(() => body.Against(Quote.From(Full, seq: 4).Body, other.Number + third.Number + 1_000, Work));

        var gone = Remember(body, Work);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(gone.TryGetTarget(out _), "a body remembered against must be free to go");
        GC.KeepAlive(body);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference<QuoteBody> Remember(QuoteBody body, Func<QuoteBody, QuoteBody, BodyPair> work)
    {
        var other = Quote.From(Full, seq: 9).Body;
        body.Against(other, other.Number, work);
        return new WeakReference<QuoteBody>(other);
    }

    private sealed class Lengths(long earlier, string text) : BodyPair(earlier)
    {
        public string Text { get; } = text;
    }

    private static Quote ReadQuote(QuoteBody body)
    {
        var reader = new Utf8JsonReader([.. body.Span, (byte)'}']);
        reader.Read();
        return QuoteReader.Read(ref reader, out _, out _);
    }
}
