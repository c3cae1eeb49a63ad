using System.Buffers;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace MarketStream.Contracts.Tests.PropertyTests;

/// <summary>
/// The <c>delta</c> extension's codec: for random tick sequences merged into a symbol's state, and a random
/// subset of the states sent (the others conflated away), a client that takes the snapshot whole and lays each
/// changed-fields quote over what it holds ends up with exactly the state the server holds, to the last digit,
/// after every quote.
/// </summary>
public class DeltaProperties
{
    [Property(MaxTest = 500)]
    public Property Snapshot_and_deltas_rebuild_every_quote_sent() =>
        Prop.ForAll(Arb.From(Run()), run =>
        {
            var (ticks, sent) = run;
            var state = Quote.From(ticks[0], seq: 1);
            var held = Reread(Whole(state));
            Assert.Equal(state, held);
            for (var i = 1; i < ticks.Length; i++)
            {
                state = state.Merge(WithSymbol(ticks[i], state.Symbol), seq: i + 1);
                if (!sent[i])
                {
                    // Conflated: the client never sees this state; the next delta is written against what it has.
                    continue;
                }

                var wire = new ArrayBufferWriter<byte>();
                QuoteWriter.WriteDelta(wire, state, held, conflated: 0, dropped: 0);
                held = held.Apply(Reread(wire.WrittenSpan.ToArray()));
                Assert.True(held == state, $"after {Encoding.UTF8.GetString(wire.WrittenSpan)}: holds {held}, server has {state}");
            }
        });

    [Property(MaxTest = 500)]
    public Property A_delta_carries_exactly_the_fields_written_differently() =>
        Prop.ForAll(Arb.From(HostileInput.ValidTick()), Arb.From(HostileInput.ValidTick()), (a, b) =>
        {
            var before = Quote.From(a, seq: 1);
            var after = before.Merge(WithSymbol(b, a.Symbol), seq: 2);
            var wire = new ArrayBufferWriter<byte>();
            QuoteWriter.WriteDelta(wire, after, before, conflated: 0, dropped: 0);
            using var json = JsonDocument.Parse(wire.WrittenMemory);
            foreach (var field in QuoteFields.All)
            {
                var carried = json.RootElement.TryGetProperty(field.Name, out _);
                Assert.True(carried == !after.SameField(before, field.Index), $"{field.Name}: carried {carried} in {Encoding.UTF8.GetString(wire.WrittenSpan)}");
            }

            Assert.True(json.RootElement.TryGetProperty("symbol", out _) && json.RootElement.TryGetProperty("seq", out _) && json.RootElement.TryGetProperty("ts", out _));
        });

    private static Gen<(Tick[] Ticks, bool[] Sent)> Run() =>
        from count in Gen.Choose(2, 30)
        from ticks in Gen.ArrayOf(HostileInput.ValidTick(), count)
        from sent in Gen.ArrayOf(Gen.Elements(true, true, false), count)
        select (ticks, sent);

    private static Tick WithSymbol(Tick t, string symbol) => new()
    {
        Symbol = symbol, Ts = t.Ts, Bid = t.Bid, Ask = t.Ask, Last = t.Last, BidSize = t.BidSize, AskSize = t.AskSize, LastSize = t.LastSize, Venue = t.Venue,
    };

    private static byte[] Whole(Quote quote)
    {
        var wire = new ArrayBufferWriter<byte>();
        QuoteWriter.WriteSpliced(wire, quote, 0, 0);
        return wire.WrittenSpan.ToArray();
    }

    private static Quote Reread(byte[] utf8)
    {
        var reader = new Utf8JsonReader(utf8);
        reader.Read();
        return QuoteReader.Read(ref reader, out _, out _);
    }
}
