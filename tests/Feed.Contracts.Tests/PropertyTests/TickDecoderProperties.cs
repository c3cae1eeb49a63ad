using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace MarketStream.Contracts.Tests.PropertyTests;

/// <summary>
/// Whatever a producer writes to the topic, <see cref="TickDecoder.Decode"/> answers with exactly one of a
/// tick that keeps every rule of PROTOCOL.md section 1 or a reason from the closed set, and never throws
/// into the ingest loop; a valid tick survives encode and decode bit for bit.
/// </summary>
public class TickDecoderProperties
{
    // One decoder for all cases, as in the ingest loop: its intern table must not change any answer.
    private readonly TickDecoder decoder = new();

    [Property(MaxTest = 1000)]
    public Property Arbitrary_bytes_end_in_a_tick_or_a_reason_never_an_exception() =>
        Prop.ForAll(Arb.From(HostileInput.Bytes(600)), bytes => AssertExactlyOneAnswer(decoder, bytes));

    [Property(MaxTest = 1000)]
    public Property Any_JSON_value_ends_in_a_tick_or_a_reason_never_an_exception() =>
        Prop.ForAll(Arb.From(HostileInput.Json(5, allowLoneSurrogates: true)), json => AssertExactlyOneAnswer(decoder, Encoding.UTF8.GetBytes(json)));

    [Property(MaxTest = 2000)]
    public Property Objects_with_the_real_field_names_and_random_values_end_in_exactly_one_answer() =>
        Prop.ForAll(Arb.From(HostileInput.ObjectWithFields(HostileInput.TickFields, allowLoneSurrogates: true)), json => AssertExactlyOneAnswer(decoder, Encoding.UTF8.GetBytes(json)));

    [Property(MaxTest = 2000)]
    public Property Mutated_valid_ticks_end_in_exactly_one_answer() =>
        Prop.ForAll(Arb.From(HostileInput.Mutate(HostileInput.ValidTick().Select(TickEncoder.ToUtf8))), bytes => AssertExactlyOneAnswer(decoder, bytes));

    /// <summary>
    /// <c>not_json</c> is for records that are not JSON. A well-formed record with a field of the wrong type
    /// must be counted under that field's reason, or the rejection metric points the producer's team at the
    /// wrong fault.
    /// </summary>
    [Property(MaxTest = 2000)]
    public Property Well_formed_JSON_is_never_rejected_as_not_json() =>
        Prop.ForAll(Arb.From(Gen.OneOf(HostileInput.Json(4), HostileInput.ObjectWithFields(HostileInput.TickFields))), json =>
        {
            var reason = decoder.Decode(Encoding.UTF8.GetBytes(json), out _);
            Assert.True(reason != TickRejectReason.NotJson, $"well-formed '{json}' rejected as not_json");
        });

    [Property(MaxTest = 2000)]
    public Property A_valid_tick_round_trips_through_the_encoder_exactly_with_decimal_scale_kept() =>
        Prop.ForAll(Arb.From(HostileInput.ValidTick()), tick =>
        {
            var bytes = TickEncoder.ToUtf8(tick);
            var reason = decoder.Decode(bytes, out var decoded);
            Assert.True(reason == TickRejectReason.None, $"{reason} for {Encoding.UTF8.GetString(bytes)}");
            Assert.Equal(tick.Symbol, decoded!.Symbol);
            Assert.Equal(tick.Ts, decoded.Ts);
            AssertSameDecimal(tick.Bid, decoded.Bid);
            AssertSameDecimal(tick.Ask, decoded.Ask);
            AssertSameDecimal(tick.Last, decoded.Last);
            Assert.Equal(tick.BidSize, decoded.BidSize);
            Assert.Equal(tick.AskSize, decoded.AskSize);
            Assert.Equal(tick.LastSize, decoded.LastSize);
            Assert.Equal(tick.Venue, decoded.Venue);

            // And the bytes a producer wrote are the bytes the gateway would write again.
            Assert.Equal(Encoding.UTF8.GetString(bytes), Encoding.UTF8.GetString(TickEncoder.ToUtf8(decoded)));
        });

    [Property(MaxTest = 1000)]
    public Property A_lower_case_symbol_is_accepted_and_normalised_to_upper_case() =>
        Prop.ForAll(Arb.From(HostileInput.ValidTick()), tick =>
        {
            var json = Encoding.UTF8.GetString(TickEncoder.ToUtf8(tick)).Replace("\"symbol\":\"" + tick.Symbol + "\"", "\"symbol\":\"" + tick.Symbol.ToLowerInvariant() + "\"", StringComparison.Ordinal);
            Assert.Equal(TickRejectReason.None, decoder.Decode(Encoding.UTF8.GetBytes(json), out var decoded));
            Assert.Equal(tick.Symbol, decoded!.Symbol);
        });

    internal static void AssertExactlyOneAnswer(TickDecoder decoder, byte[] record)
    {
        var reason = decoder.Decode(record, out var tick);

        // OutOfOrder belongs to the ingest (it needs the Kafka position), never to the decoder.
        Assert.True(Enum.IsDefined(reason) && reason != TickRejectReason.OutOfOrder, $"reason {(int)reason} for {ClientRequestParserProperties.Describe(record)}");
        Assert.True(reason == TickRejectReason.None == tick is not null, $"reason {reason} with tick {tick is not null}");
        if (tick is null)
        {
            return;
        }

        // What the decoder lets through keeps every rule, so nothing downstream has to check again.
        Assert.True(Symbols.TryNormalize(tick.Symbol, out var normal) && normal == tick.Symbol, $"symbol '{tick.Symbol}'");
        Assert.True(tick.Ts > 0);
        Assert.True(tick.Bid is not null || tick.Ask is not null || tick.Last is not null);
        Assert.True(tick.Bid is null or > 0m && tick.Ask is null or > 0m && tick.Last is null or > 0m);
        Assert.True(tick.BidSize is null or >= 0 && tick.AskSize is null or >= 0 && tick.LastSize is null or >= 0);
        Assert.True(tick.Venue is null || tick.Venue.Length <= TickDecoder.MaxVenueLength);
    }

    private static void AssertSameDecimal(decimal? expected, decimal? actual)
    {
        Assert.Equal(expected, actual);
        if (expected is { } e)
        {
            // Equal decimals can differ in scale (189.1 == 189.10); the protocol promises the scale too.
            Assert.Equal(decimal.GetBits(e), decimal.GetBits(actual!.Value));
        }
    }
}
