using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace MarketStream.Contracts.Tests.PropertyTests;

/// <summary>
/// A frame or record up to the 16 KiB frame limit costs memory proportional to its size, never more: a
/// client cannot make the gateway allocate megabytes with one small frame, nor a producer with one record.
/// </summary>
/// <remarks>
/// <para>
/// The bound is <c>16 × input bytes + 8 KiB</c>. Where the multiple comes from: the costliest legal input is
/// a subscribe naming many one-character symbols. Each <c>"A",</c> is 4 bytes of input and becomes a
/// 24-byte string plus an 8-byte slot in the symbol list, and the list's doubling growth allocates up to that
/// much again over its life: about 40 bytes per 4 input bytes, 10×. The parser caps a request at 1,000 symbols
/// but a frame may repeat <c>"symbols"</c>, and each repetition builds a new list, so 10× holds for the whole
/// frame; 16× leaves room for runtime detail (object headers, list capacity rounding) without admitting
/// anything super-linear (a quadratic copy, or a buffer sized from a number in the input, fails at once).
/// The constant covers the fixed costs of any one call: the reader's state, an error message, and a
/// <see cref="System.Text.Json.JsonException"/> with its message and stack trace when the input is malformed.
/// </para>
/// <para>
/// The decoder is measured fresh for each input, so its intern table grows from empty inside the measured call:
/// the worst a single record can do. (A long-lived decoder also resizes its table now and then, which is
/// amortised over the records that filled it and capped at 100,000 entries.)
/// </para>
/// <para>
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/> is exact for the calling thread; FsCheck runs each case
/// on the test's thread, and each code path is run once before it is measured so that one-off costs
/// (type initialisation, the first exception's stack-trace machinery) are not counted against an input.
/// </para>
/// </remarks>
public class AllocationProperties
{
    private const int FrameLimit = 16 * 1024;
    private const int Multiple = 16;
    private const int Fixed = 8 * 1024;

    static AllocationProperties()
    {
        // Warm every path once: valid and invalid, request and tick, exception and no exception.
        string[] warm = ["", "x", "{", "[]", """{"op":"subscribe","id":"a","symbols":["A"]}""", """{"op":"configure","throttleMs":5,"policy":"x"}""",
            """{"symbol":"A","ts":1,"bid":1.5,"venue":"X"}""", """{"symbol":"A\u0041","ts":[1],"bid":1}""", new string('[', 100)];
        foreach (var text in warm)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            ClientRequestParser.Parse(bytes, out _);
            new TickDecoder().Decode(bytes, out _);
        }
    }

    [Property(MaxTest = 300)]
    public Property Parsing_a_client_frame_allocates_at_most_a_small_multiple_of_its_size() =>
        Prop.ForAll(Arb.From(LargeInputs(HostileInput.RequestFields)), frame =>
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            ClientRequestParser.Parse(frame, out _);
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            AssertWithinBound(frame, allocated);
        });

    [Property(MaxTest = 300)]
    public Property Decoding_a_tick_record_allocates_at_most_a_small_multiple_of_its_size() =>
        Prop.ForAll(Arb.From(LargeInputs(HostileInput.TickFields)), record =>
        {
            var decoder = new TickDecoder();
            var before = GC.GetAllocatedBytesForCurrentThread();
            decoder.Decode(record, out _);
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            AssertWithinBound(record, allocated);
        });

    private static void AssertWithinBound(byte[] input, long allocated)
    {
        var bound = (long)Multiple * input.Length + Fixed;
        Assert.True(allocated <= bound,
            $"{allocated} bytes allocated for a {input.Length}-byte input ({(double)allocated / Math.Max(1, input.Length):F1}×), over {Multiple}× + {Fixed}: {Head(input)}");
    }

    private static string Head(byte[] input) => Encoding.UTF8.GetString(input.AsSpan(0, Math.Min(160, input.Length)));

    /// <summary>Inputs up to the frame limit, built to be expensive: many small strings, repeated fields, long strings, deep nesting, long numbers.</summary>
    private static Gen<byte[]> LargeInputs(string[] fields)
    {
        var text = Gen.OneOf(
            Repeated(Gen.Constant("""{"op":"subscribe","id":1,"symbols":["""), Gen.Elements("\"A\"", "\"b\"", "\"\"", "\"EUR/USD\"", "1", "null"), ",", "]}"),
            Repeated(Gen.Constant("{"), Gen.Elements(fields).Select(f => "\"" + f + "\":[\"A\"]"), ",", "}"),
            Repeated(Gen.Constant("{"), Gen.Elements(fields).SelectMany(f => Gen.Choose(0, 99_999).Select(i => "\"" + f + "\":\"V" + i.ToString(CultureInfo.InvariantCulture) + "\"")), ",", "}"),
            Repeated(Gen.Constant("{"), Gen.Elements(fields).SelectMany(f => Gen.Choose(0, 99_999).Select(i => "\"" + f + "\":" + i.ToString(CultureInfo.InvariantCulture))), ",", "}"),
            Gen.Elements(fields).SelectMany(f => Gen.Choose(0, FrameLimit - 20).Select(n => "{\"" + f + "\":\"" + new string('A', n) + "\"}")),
            Gen.Elements(fields).SelectMany(f => Gen.Choose(0, FrameLimit - 20).Select(n => "{\"" + f + "\":1" + new string('9', n) + "}")),
            Gen.Elements(fields).SelectMany(f => Gen.Choose(0, FrameLimit - 20).Select(n => "{\"" + f + "\":\"" + string.Concat(Enumerable.Repeat("\\u00e9", n / 6)) + "\"}")),
            Gen.Choose(1, FrameLimit / 2).Select(n => new string('[', n) + new string(']', n)),
            Gen.Choose(1, FrameLimit / 6).Select(n => string.Concat(Enumerable.Repeat("{\"a\":", n)) + "1" + new string('}', n)));
        var bytes = text.Select(Encoding.UTF8.GetBytes);

        // A broken literal (t, f, n not followed by rue, alse, ull) anywhere, then the rest of the frame.
        var brokenLiteral =
            from start in Gen.Elements("f", "t", "n", "{\"op\":f", "{\"symbol\":t", "{\"id\":1,\"symbols\":[n", "{\"" + fields[0] + "\":[1,2,fals")
            from filler in Gen.Elements((byte)'a', (byte)0xff, (byte)' ', (byte)'\\')
            from length in Gen.Choose(start.Length, FrameLimit)
            select Encoding.UTF8.GetBytes(start).Concat(Enumerable.Repeat(filler, length - start.Length)).ToArray();
        return Gen.Frequency(
            (4, bytes),
            (1, brokenLiteral),
            (2, HostileInput.Mutate(bytes)),
            (1, HostileInput.Bytes(FrameLimit)))
            .Select(b => b.Length <= FrameLimit ? b : b[..FrameLimit]);
    }

    // An opening, then items up to the frame limit, then the closing: the largest frames are the most telling.
    private static Gen<string> Repeated(Gen<string> open, Gen<string> item, string separator, string close) =>
        from start in open
        from target in Gen.Choose(0, FrameLimit)
        from items in Gen.ArrayOf(item, Math.Max(1, target / 6))
        select Fit(start, items, separator, close);

    private static string Fit(string open, string[] items, string separator, string close)
    {
        var sb = new StringBuilder(open);
        for (var i = 0; i < items.Length && sb.Length + items[i].Length + separator.Length + close.Length <= FrameLimit; i++)
        {
            if (i > 0)
            {
                sb.Append(separator);
            }

            sb.Append(items[i]);
        }

        return sb.Append(close).ToString();
    }
}
