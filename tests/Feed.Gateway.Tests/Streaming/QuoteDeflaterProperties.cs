using System.Buffers;
using System.Text;
using MarketStream.Contracts;
using MarketStream.Gateway.Streaming;

namespace MarketStream.Gateway.Tests.Streaming;

/// <summary>
/// The context-keeping compressor of <c>updates</c> frames, against a real inflater that keeps its window across
/// messages (as a client does): for random frames (quotes with random field subsets and values, any bytes in a
/// text field, a symbol twice in one frame, this client's counts or none), other messages compressed by zlib in
/// between, and gaps that push the last quote of a symbol out of the 32 KiB window, every message inflates to
/// exactly what was written. Two connections share the bodies (and what is worked out per pair of them) at
/// different stream positions. Seeded: each seed is one reproducible case.
/// </summary>
public class QuoteDeflaterProperties
{
    private static readonly string[] Names = ["bid", "ask", "bidSize", "askSize", "last", "lastSize"];

    public static TheoryData<int> Seeds() => SeedData.UpTo(150);

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Every_frame_inflates_to_what_was_written_through_one_window(int seed)
    {
        var random = new Random(seed);
        var symbols = new[] { "AAPL", "MSFT", "EUR/USD", "BRK.B", "Ä\u00e9X", "V" }.Take(random.Next(1, 7)).ToArray();
        var bodies = symbols.ToDictionary(s => s, s => Body(random, s, 1));
        var connections = new[] { new Connection(), new Connection() };
        for (var step = 0; step < 60; step++)
        {
            // A new version of some symbols, as the market state would publish them; both clients may get it.
            foreach (var symbol in symbols.Where(_ => random.Next(3) > 0))
            {
                bodies[symbol] = Body(random, symbol, step + 2);
            }

            foreach (var connection in connections)
            {
                switch (random.Next(12))
                {
                    case 0:
                        // Another message the client inflates (a snapshot, a reply), sometimes long enough to push
                        // every earlier quote out of the window.
                        connection.Other(random, random.Next(5) == 0 ? random.Next(30_000, 70_000) : random.Next(128, 2_000));
                        break;
                    default:
                        connection.Frame(random, symbols.Where(_ => random.Next(4) > 0).Select(s => (s, bodies[s])).ToList());
                        break;
                }
            }
        }

        foreach (var connection in connections)
        {
            connection.Dispose();
        }
    }

    [Fact]
    public void Quotes_that_change_a_little_compress_to_a_fraction_of_their_size()
    {
        var random = new Random(7);
        var symbols = Enumerable.Range(0, 50).Select(i => $"S{i:D2}").ToArray();
        using var connection = new Connection();
        long written = 0, wire = 0;
        for (var step = 0; step < 40; step++)
        {
            var frame = symbols.Select(s => (s, Body(random, s, step, full: true))).ToList();
            var (length, compressed) = connection.Frame(random, frame);
            if (step > 0)
            {
                written += length;
                wire += compressed;
            }
        }

        Assert.True(wire * 3 < written, $"{wire} bytes on the wire for {written} written");
    }

    [Fact]
    public void A_name_the_quote_before_lacks_is_matched_with_its_value_in_the_last_body_that_had_it()
    {
        // Three first quotes in one frame (no earlier quote of any symbol): the second lacks bid, the third carries
        // the first's bid. Its name and value are one repeat of the first quote's, so it costs the frame less than a
        // bid of the same length that repeats nothing.
        int FrameBytes(string thirdBid)
        {
            using var connection = new Connection();
            var frame = new List<(string, QuoteBody)>
            {
                ("AAA", BodyOf("AAA", 11, "123456.789012")),
                ("BBB", BodyOf("BBB", 12, null)),
                ("CCC", BodyOf("CCC", 13, thirdBid)),
            };
            return connection.Frame(new Random(3), frame).Wire;
        }

        var repeated = FrameBytes("123456.789012");
        var other = FrameBytes("987654.321098");
        Assert.True(repeated + 5 <= other, $"{repeated} bytes with the bid repeated, {other} with another bid");
    }

    [Fact]
    public void A_frame_of_printable_ascii_gets_the_code_with_the_shorter_header_and_any_other_the_code_for_every_byte()
    {
        Assert.Same(DeflateCode.Quotes, DeflateCode.For("{\"type\":\"updates\",\"quotes\":[{\"symbol\":\"BRK.B\",\"seq\":7}]}"u8));
        Assert.Same(DeflateCode.Quotes, DeflateCode.For(" ~"u8));
        Assert.Same(DeflateCode.AnyBytes, DeflateCode.For("{\"symbol\":\"Ä\"}"u8));
        Assert.Same(DeflateCode.AnyBytes, DeflateCode.For("a\nb"u8));
        Assert.Same(DeflateCode.AnyBytes, DeflateCode.For([(byte)'a', 0x7F]));
        Assert.True(DeflateCode.Quotes.HeaderBits + 200 < DeflateCode.AnyBytes.HeaderBits, $"headers of {DeflateCode.Quotes.HeaderBits} and {DeflateCode.AnyBytes.HeaderBits} bits");

        // Both write what a client inflates, frame after frame in one window, whichever code each frame needs.
        using var connection = new Connection();
        var random = new Random(5);
        for (var step = 0; step < 6; step++)
        {
            var symbol = step % 2 == 0 ? "AAPL" : "Ä\u00e9X";
            connection.Frame(random, [(symbol, BodyOf(symbol, step + 1, $"{100 + step}.25"))]);
        }
    }

    private static QuoteBody BodyOf(string symbol, int seq, string? bid)
    {
        var body = new BodyBuilder();
        body.Part(QuoteBody.Symbol, $"{{\"symbol\":\"{symbol}\"");
        body.Part(QuoteBody.Seq, $",\"seq\":{seq}");
        if (bid is not null)
        {
            body.Part(QuoteBody.PartOf(QuoteFields.Bid), $",\"bid\":{bid}");
        }

        body.Part(QuoteBody.Ts, $",\"ts\":{1_795_892_794_000_000 + seq}");
        return body.Build();
    }

    /// <summary>
    /// A quote body as the writer shapes it (no closing brace): symbol, seq, some fields, ts, maybe a venue, with where
    /// each name starts.
    /// </summary>
    private static QuoteBody Body(Random random, string symbol, int seq, bool full = false)
    {
        var body = new BodyBuilder();
        body.Part(QuoteBody.Symbol, $"{{\"symbol\":\"{symbol}\"");
        body.Part(QuoteBody.Seq, $",\"seq\":{(seq * 7) + random.Next(7)}");
        foreach (var (name, part) in Names.Select((n, i) => (n, QuoteBody.PartOf(QuoteFields.All[i]))).Where(_ => full || random.Next(3) > 0))
        {
            body.Part(part, $",\"{name}\":" + (name.EndsWith("Size", StringComparison.Ordinal) ? $"{random.Next(1, 50) * 100}" : $"{100 + random.Next(3)}.{random.Next(100):D2}"));
        }

        body.Part(QuoteBody.Ts, $",\"ts\":{1_795_892_794_000_000 + (seq * 100_000) + random.Next(100_000)}");
        if (full || random.Next(3) > 0)
        {
            body.Part(QuoteBody.PartOf(QuoteFields.Venue), ",\"venue\":\"");

            // Any bytes at all may sit in a text field as far as the compressor is concerned.
            body.Raw(random.Next(4) == 0 ? Enumerable.Range(0, random.Next(1, 20)).Select(_ => (byte)random.Next(256)) : "XNAS"u8.ToArray());
            body.Raw([(byte)'"']);
        }

        return body.Build();
    }

    /// <summary>A quote body put together part by part, with where each name starts (in bytes of UTF-8).</summary>
    private sealed class BodyBuilder
    {
        private readonly List<byte> bytes = [];
        private readonly short[] starts = Enumerable.Repeat((short)-1, QuoteBody.PartCount).ToArray();

        public void Part(int part, string text)
        {
            starts[part] = (short)bytes.Count;
            bytes.AddRange(Encoding.UTF8.GetBytes(text));
        }

        public void Raw(IEnumerable<byte> more) => bytes.AddRange(more);

        public QuoteBody Build() => new([.. bytes], starts);
    }

    /// <summary>One client: the gateway's compressor for it, and its own inflater.</summary>
    private sealed class Connection : IDisposable
    {
        private readonly QuoteDeflater deflater = new();
        private readonly StreamInflater inflater = new();

        // The compressor's place per symbol, as a subscription holds it.
        private readonly Dictionary<string, QuoteMark> marks = [];

        public (int Written, int Wire) Frame(Random random, List<(string Symbol, QuoteBody Body)> quotes)
        {
            if (quotes.Count > 1 && random.Next(5) == 0)
            {
                // A queue policy can send one symbol twice in a frame.
                quotes.Add(quotes[random.Next(quotes.Count)]);
            }

            var message = new List<byte>(QuoteDeflater.UpdatesPrefix.ToArray());
            var spans = new List<QuoteSpan>();
            for (var i = 0; i < quotes.Count; i++)
            {
                if (i > 0)
                {
                    message.Add((byte)',');
                }

                var symbol = quotes[i].Symbol;
                if (!marks.TryGetValue(symbol, out var mark))
                {
                    marks[symbol] = mark = new QuoteMark();
                }

                spans.Add(new QuoteSpan(message.Count, mark, quotes[i].Body));
                message.AddRange(quotes[i].Body.Span.ToArray());
                if (random.Next(3) == 0)
                {
                    message.AddRange(Encoding.UTF8.GetBytes($",\"conflated\":{random.Next(1, 200)}"));
                }

                if (random.Next(6) == 0)
                {
                    message.AddRange(Encoding.UTF8.GetBytes($",\"dropped\":{random.Next(1, 9)}"));
                }

                message.Add((byte)'}');
            }

            message.AddRange("]}"u8.ToArray());
            var bytes = message.ToArray();
            var output = new byte[QuoteDeflater.MaxOutput(bytes.Length)];
            var length = deflater.Compress(bytes, spans.ToArray(), output);
            Assert.Equal(bytes, inflater.Inflate(output[..length]));
            return (bytes.Length, length);
        }

        public void Other(Random random, int length)
        {
            var bytes = new byte[length];
            random.NextBytes(bytes.AsSpan(0, length / 2));
            var compressed = MessageCompressor.Compress(bytes, 0, 1, out var end);
            deflater.Advance(bytes.Length);
            Assert.Equal(bytes, inflater.Inflate(compressed[..end]));
            ArrayPool<byte>.Shared.Return(compressed);
        }

        public void Dispose() => inflater.Dispose();
    }
}
