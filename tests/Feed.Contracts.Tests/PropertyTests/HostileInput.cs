using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace MarketStream.Contracts.Tests.PropertyTests;

/// <summary>
/// Generators of what a hostile or broken peer can send: raw bytes, well-formed JSON of bounded depth and
/// size, objects that use the protocol's real field names with values of every type, and byte-level
/// mutations of valid requests and ticks. All JSON is produced as text, so that lexical details the
/// decoders must cope with (escapes, exponents, leading zeros, huge numbers) are under our control.
/// </summary>
internal static class HostileInput
{
    public static readonly string[] TickFields = ["symbol", "ts", "bid", "ask", "last", "bidSize", "askSize", "lastSize", "venue"];

    public static readonly string[] RequestFields = ["op", "id", "symbols", "throttleMs", "policy"];

    private static readonly string[] Ops = ["subscribe", "unsubscribe", "configure", "ping", "Subscribe", "", "pong", "subscribe "];

    private static readonly string[] Policies = ["conflate", "drop-oldest", "drop-newest", "disconnect", "CONFLATE", "drop", ""];

    // Numbers chosen for the edges of long, int, decimal and double: overflow, underflow, precision, sign, exponents.
    private static readonly string[] EdgeNumbers =
    [
        "0", "-0", "0.0", "1", "-1", "0.1", "1e3", "1E-3", "1e400", "-1e400", "1e-400", "2147483647", "2147483648",
        "-2147483649", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "18446744073709551616",
        "79228162514264337593543950335", "79228162514264337593543950336", "0.0000000000000000000000000001",
        "0.00000000000000000000000000001", "189.12", "189.10", "1.7976931348623157e308", "5e-324", "60000", "60001",
        "123456789012345678901234567890.123456789", "1.0000000000000000000000000001", "-189.12", "3.14159e2",
    ];

    /// <summary>Arbitrary bytes, up to <paramref name="maxLength"/>: mostly garbage, sometimes UTF-8 of JSON punctuation.</summary>
    public static Gen<byte[]> Bytes(int maxLength) =>
        Gen.Choose(0, maxLength).SelectMany(n => Gen.Frequency(
            (3, Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), n)),
            (2, Gen.ArrayOf(Gen.Elements("{}[]\":,0123456789.eE-+tfnul\\ \t\r\nabc\u00e9".Select(c => c).ToArray()), n)
                .Select(chars => Encoding.UTF8.GetBytes(chars)))));

    /// <summary>A JSON scalar as text.</summary>
    public static Gen<string> Scalar(bool allowLoneSurrogates) => Gen.Frequency(
        (2, Gen.Elements(EdgeNumbers)),
        (2, Gen.Choose(int.MinValue, int.MaxValue).Select(i => i.ToString(CultureInfo.InvariantCulture))),
        (2, Decimal().Select(d => d.ToString(CultureInfo.InvariantCulture))),
        (3, StringLiteral(allowLoneSurrogates)),
        (1, Gen.Elements("true", "false", "null")));

    /// <summary>A JSON string literal, quoted, with escapes, non-ASCII, and (optionally) escaped lone surrogates.</summary>
    public static Gen<string> StringLiteral(bool allowLoneSurrogates)
    {
        var pieces = new List<(int, Gen<string>)>
        {
            (6, Gen.Elements("A", "a", "Z", "0", "9", ".", "_", ":", "/", "-", " ", "?", "é", "€", "𝄞", "AAPL", "EUR/USD")),
            (2, Gen.Elements("\\\"", "\\\\", "\\/", "\\n", "\\t", "\\u0041", "\\u0000", "\\u00e9", "\\ud834\\udd1e")),
            (1, Gen.Choose(0x20, 0x7e).Select(c => ((char)c) is '"' or '\\' ? "x" : ((char)c).ToString())),
        };
        if (allowLoneSurrogates)
        {
            pieces.Add((1, Gen.Elements("\\ud800", "\\udfff")));
        }

        return Gen.Sized(size => Gen.Choose(0, Math.Max(0, Math.Min(size, 40)))
            .SelectMany(n => Gen.ListOf(Gen.Frequency(pieces), n))
            .Select(parts => "\"" + string.Concat(parts) + "\""));
    }

    /// <summary>A decimal with any scale 0 to 28, positive or negative: what a price can look like.</summary>
    public static Gen<decimal> Decimal() =>
        Gen.Choose(0, 28).SelectMany(scale => Gen.Choose(int.MinValue, int.MaxValue).SelectMany(lo =>
            Gen.Choose(0, 1000).Select(mid => new decimal(lo, mid, 0, lo < 0, (byte)scale))));

    /// <summary>Any well-formed JSON value up to <paramref name="depth"/> levels of nesting.</summary>
    public static Gen<string> Json(int depth, bool allowLoneSurrogates = false)
    {
        if (depth == 0)
        {
            return Scalar(allowLoneSurrogates);
        }

        var inner = Json(depth - 1, allowLoneSurrogates);
        return Gen.Frequency(
            (4, Scalar(allowLoneSurrogates)),
            (1, Gen.Sized(s => Gen.Choose(0, Math.Min(s, 6))).SelectMany(n => Gen.ListOf(inner, n)).Select(items => "[" + string.Join(",", items) + "]")),
            (2, Gen.Sized(s => Gen.Choose(0, Math.Min(s, 6)))
                .SelectMany(n => Gen.ListOf(Gen.Zip(Key(TickFields.Concat(RequestFields).ToArray(), allowLoneSurrogates), inner), n))
                .Select(members => "{" + string.Join(",", members.Select(m => m.Item1 + ":" + m.Item2)) + "}")));
    }

    /// <summary>A JSON object whose members use <paramref name="fields"/> (sometimes escaped, sometimes repeated) with values of any type.</summary>
    public static Gen<string> ObjectWithFields(string[] fields, bool allowLoneSurrogates = false) =>
        Gen.Choose(0, fields.Length + 3).SelectMany(n => Gen.ListOf(Gen.Zip(Key(fields, allowLoneSurrogates), FieldValue(allowLoneSurrogates)), n))
            .Select(members => "{" + string.Join(",", members.Select(m => m.Item1 + ":" + m.Item2)) + "}");

    private static Gen<string> FieldValue(bool allowLoneSurrogates) => Gen.Frequency(
        (6, Scalar(allowLoneSurrogates)),
        (2, Gen.Elements(Ops.Concat(Policies).Select(s => "\"" + s + "\"").ToArray())),
        (2, Gen.Elements("\"AAPL\"", "\"aapl\"", "\"EUR/USD\"", "\"XNAS\"", "\"ABCDEFGHIJKLMNOPQ\"", "\"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456\"")),
        (2, Json(2, allowLoneSurrogates)));

    private static Gen<string> Key(string[] fields, bool allowLoneSurrogates) => Gen.Frequency(
        (6, Gen.Elements(fields).Select(f => "\"" + f + "\"")),
        (1, Gen.Elements(fields).Select(EscapeFirst)),
        (1, StringLiteral(allowLoneSurrogates)));

    // "\u0062id" is "bid" to JSON: the decoders must read it as such.
    private static string EscapeFirst(string field) => "\"\\u" + ((int)field[0]).ToString("x4", CultureInfo.InvariantCulture) + field[1..] + "\"";

    /// <summary>A tick the protocol accepts, with prices of any scale and any subset of the optional fields.</summary>
    public static Gen<Tick> ValidTick() =>
        from symbol in ValidSymbol()
        from ts in Gen.Choose(1, int.MaxValue).Select(t => (long)t * 1_000_000 + 7)
        from prices in Gen.Choose(1, 7)
        from bid in PositiveDecimal()
        from ask in PositiveDecimal()
        from last in PositiveDecimal()
        from sizes in Gen.Choose(0, 7)
        from size in Gen.Choose(0, int.MaxValue)
        from venue in Gen.Elements<string?>(null, "XNAS", "", "V", "ABCDEFGHIJKLMNOP", "é€𝄞")
        select new Tick
        {
            Symbol = symbol,
            Ts = ts,
            Bid = (prices & 1) != 0 ? bid : null,
            Ask = (prices & 2) != 0 ? ask : null,
            Last = (prices & 4) != 0 ? last : null,
            BidSize = (sizes & 1) != 0 ? size : null,
            AskSize = (sizes & 2) != 0 ? (long)size * 3 : null,
            LastSize = (sizes & 4) != 0 ? 0 : null,
            Venue = venue,
        };

    public static Gen<decimal> PositiveDecimal() => Decimal().Select(Math.Abs).Where(d => d > 0m);

    /// <summary>1 to 32 characters of the symbol alphabet, the first a letter or digit, already upper case.</summary>
    public static Gen<string> ValidSymbol() =>
        from first in Gen.Elements("ABCXYZ019".ToCharArray())
        from restLength in Gen.Choose(0, 31)
        from rest in Gen.ArrayOf(Gen.Elements("ABZ09._:/-".ToCharArray()), restLength)
        select first + new string(rest);

    /// <summary>A request a v1 client may send, as text.</summary>
    public static Gen<string> ValidRequest() =>
        from op in Gen.Elements("subscribe", "unsubscribe", "configure", "ping")
        from id in Gen.Elements("", "\"id\":7,", "\"id\":\"r-1\",", "\"id\":-9223372036854775808,")
        from symbols in Gen.Choose(0, 5).SelectMany(n => Gen.ListOf(ValidSymbol(), n))
        from throttle in Gen.Choose(0, 60_000)
        from policy in Gen.Elements(Policies.Take(4).ToArray())
        select op switch
        {
            "subscribe" or "unsubscribe" => "{" + id + "\"op\":\"" + op + "\",\"symbols\":[" + string.Join(",", symbols.Select(s => "\"" + s + "\"")) + "]}",
            "configure" => "{" + id + "\"op\":\"configure\",\"throttleMs\":" + throttle.ToString(CultureInfo.InvariantCulture) + ",\"policy\":\"" + policy + "\"}",
            _ => "{" + id + "\"op\":\"ping\"}",
        };

    /// <summary>Byte-level damage to a valid input: what a buggy producer or a fuzzer would send.</summary>
    public static Gen<byte[]> Mutate(Gen<byte[]> valid) =>
        from bytes in valid
        from count in Gen.Choose(1, 4)
        from mutations in Gen.ListOf(Gen.Zip(Gen.Choose(0, 6), Gen.Zip(Gen.Choose(0, int.MaxValue), Gen.Choose(0, 255))), count)
        select mutations.Aggregate(bytes, (b, m) => Apply(b, m.Item1, m.Item2.Item1, (byte)m.Item2.Item2));

    private static byte[] Apply(byte[] input, int kind, int position, byte value)
    {
        var list = new List<byte>(input);
        var at = list.Count == 0 ? 0 : position % list.Count;
        switch (kind)
        {
            case 0 when list.Count > 0: list.RemoveAt(at); break;                           // delete a byte
            case 1: list.Insert(at, value); break;                                           // insert garbage
            case 2 when list.Count > 0: list[at] ^= (byte)(1 << (value % 8)); break;          // flip a bit
            case 3 when list.Count > 0: list.RemoveRange(at, list.Count - at); break;         // truncate
            case 4 when list.Count > 0: list.InsertRange(at, list.GetRange(at, Math.Min(8, list.Count - at))); break; // duplicate a slice
            case 5 when list.Count > 0: list[at] = (byte)"{}[]\":,.-e0\\"[value % 12]; break; // swap in JSON punctuation
            default: list.Add(value); break;                                                 // trailing garbage
        }

        return [.. list];
    }
}
