using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MarketStream.Contracts;

namespace MarketStream.Gateway.Streaming;

/// <summary>One quote of an <c>updates</c> frame: where it starts in the message, and its shared body written there.</summary>
internal readonly record struct QuoteSpan(int Start, string Symbol, ReadOnlyMemory<byte> Body);

/// <summary>
/// Compresses one connection's <c>updates</c> frames with the server's deflate context kept (RFC 7692 without
/// <c>server_no_context_takeover</c>): each quote is written as matches against the last quote of its symbol that
/// this client inflated, and against the last field names it inflated, at positions known without searching.
/// </summary>
/// <remarks>
/// <para>
/// A general deflater finds repeats by hashing all it has seen: per connection, a window and a hash table of about
/// 230 KiB, which 1,000 busy connections cannot keep in cache (measured: 3.9 core-seconds per million quotes,
/// against 0.8 uncompressed). This one knows where the repeats are. The client's inflater holds the last 32 KiB it
/// inflated, and the gateway wrote those bytes, so all a connection keeps here is the count of bytes inflated, the
/// place of the last quote of each symbol (with a reference to its body, which every client sent it shares), and
/// the place of the last occurrence of each field name.
/// </para>
/// <para>
/// How a quote body becomes matches against the body before it depends on the two bodies only, not on the client,
/// so it is worked out once (a <see cref="Script"/>) and reused for every client that had the same previous quote;
/// each client only adds its distances. Frames are one block each, in <see cref="DeflateCode.Quotes"/>' code.
/// Measured on the <c>fanout</c> preset: 36.5 bytes per quote on the wire (163.2 written; 57.1 with each frame
/// compressed alone by zlib), for the same gateway CPU as zlib's (load-tests/README.md, "Bandwidth").
/// </para>
/// <para>
/// Not thread-safe: the connection's one sender calls it, in the order the messages go out. Every message the
/// client inflates must pass through here: compressed here, or counted with <see cref="Advance"/>.
/// </para>
/// </remarks>
internal sealed class QuoteDeflater
{
    private const int MaxMarks = 4096;

    private static readonly byte[][] Tokens = BuildTokens();

    // The last quote of each symbol this client inflated, by symbol (open addressing).
    private Mark[]? marks;
    private int markCount;
    private long[]? tokenAt;

    // Bytes the client has inflated so far: the stream position of the next compressed message's first byte.
    private long position;

    // Where the last updates frame started, for its opening bytes.
    private long prefixAt = -1;

    /// <summary>How every <c>updates</c> frame starts.</summary>
    public static ReadOnlySpan<byte> UpdatesPrefix => "{\"type\":\"updates\",\"quotes\":["u8;

    /// <summary>The most bytes <see cref="Compress"/> writes for a message of <paramref name="length"/> bytes.</summary>
    public static int MaxOutput(int length) => (length * 2) + 512;

    /// <summary>A message of <paramref name="length"/> bytes went out compressed by another compressor: the client inflated it too.</summary>
    public void Advance(int length) => position += length;

    /// <summary>
    /// Compresses <paramref name="message"/>, an <c>updates</c> frame whose quotes are <paramref name="quotes"/> (in
    /// order), into <paramref name="output"/> (at least <see cref="MaxOutput"/> of its length), and returns the
    /// bytes written. The caller must send them: the client's window is taken to hold the message next.
    /// </summary>
    public int Compress(ReadOnlySpan<byte> message, ReadOnlySpan<QuoteSpan> quotes, Span<byte> output)
    {
        var code = DeflateCode.Quotes;
        var bits = new DeflateBitWriter(output);
        code.Begin(ref bits);
        var tokenAt = this.tokenAt ??= NewTokenPlaces();

        var first = quotes.IsEmpty ? message.Length : quotes[0].Start;
        var isUpdates = message[..first].SequenceEqual(UpdatesPrefix);
        if (isUpdates && prefixAt >= 0 && position - prefixAt <= DeflateCode.Window)
        {
            code.Match(ref bits, first, (int)(position - prefixAt));
        }
        else
        {
            code.Literals(ref bits, message[..first]);
        }

        var scripts = ScriptCache.Shared;
        for (var k = 0; k < quotes.Length; k++)
        {
            var quote = quotes[k];
            var start = quote.Start;
            var end = k + 1 < quotes.Length ? quotes[k + 1].Start : message.Length;
            var at = position + start;
            var bodyLength = quote.Body.Length;
            Debug.Assert(message[start..].StartsWith(quote.Body.Span), "a quote's body is where its span says");
            ref var mark = ref FindMark(quote.Symbol, out var known);
            if (MemoryMarshal.TryGetArray(quote.Body, out var body) && body.Offset == 0 && body.Count == body.Array!.Length && bodyLength <= ushort.MaxValue)
            {
                // The previous body's own hash was kept with it, so its array is not touched unless its script must be built.
                var farBase = at - mark.At;
                var usable = known && mark.Body is not null && farBase + bodyLength <= DeflateCode.Window;
                var hash = RuntimeHelpers.GetHashCode(body.Array);
                var script = usable ? scripts.Get(body.Array, hash, mark.Body, mark.Hash, (int)farBase) : scripts.Get(body.Array, hash, null, 0, 0);
                Script.Write(script, ref bits, code, at, usable ? (int)farBase : 0, tokenAt);
                mark.Body = body.Array;
                mark.At = at;
                mark.Hash = hash;
            }
            else
            {
                code.Literals(ref bits, quote.Body.Span);
                mark.Body = null;
            }

            WriteTail(ref bits, code, message[(start + bodyLength)..end], at + bodyLength, tokenAt);
        }

        if (isUpdates)
        {
            prefixAt = position;
        }

        position += message.Length;
        return code.End(ref bits);
    }

    /// <summary>What follows a body up to the next quote (this client's counts, the closing brace, a comma).</summary>
    private static void WriteTail(ref DeflateBitWriter bits, DeflateCode.QuoteCode code, ReadOnlySpan<byte> tail, long at, long[] tokenAt)
    {
        for (var i = 0; i < tail.Length;)
        {
            var token = tail[i] == (byte)',' ? TokenAt(tail, i) : -1;
            if (token < 0)
            {
                code.Literal(ref bits, tail[i++]);
                continue;
            }

            WriteToken(ref bits, code, token, at + i, tokenAt);
            tokenAt[token] = at + i;
            i += Tokens[token].Length;
        }
    }

    private static void WriteToken(ref DeflateBitWriter bits, DeflateCode.QuoteCode code, int token, long at, long[] tokenAt)
    {
        var distance = at - tokenAt[token];
        if (tokenAt[token] >= 0 && distance <= DeflateCode.Window)
        {
            code.Match(ref bits, Tokens[token].Length, (int)distance);
        }
        else
        {
            code.Literals(ref bits, Tokens[token]);
        }
    }

    /// <summary>The field-name token that starts at <paramref name="i"/>, or -1.</summary>
    private static int TokenAt(ReadOnlySpan<byte> text, int i)
    {
        var rest = text[i..];
        if (rest.Length < 3)
        {
            return -1;
        }

        // Every token is a comma or brace, a quote, then the name: the name's first letter rules most out.
        for (var t = 0; t < Tokens.Length; t++)
        {
            if (Tokens[t][2] == rest[2] && rest.StartsWith(Tokens[t]))
            {
                return t;
            }
        }

        return -1;
    }

    // The names a quote object is made of, each with what surrounds it in every quote: driven by the field table.
    private static byte[][] BuildTokens()
    {
        var names = new List<string> { "{\"symbol\":\"", ",\"seq\":", ",\"ts\":", ",\"conflated\":", ",\"dropped\":" };
        foreach (var field in QuoteFields.All)
        {
            names.Add($",\"{field.Name}\":{(field.Kind == QuoteFieldKind.Text ? "\"" : string.Empty)}");
        }

        // Longest first, so a name that starts another (bid, bidSize) never hides it.
        return names.OrderByDescending(n => n.Length).Select(n => System.Text.Encoding.UTF8.GetBytes(n)).ToArray();
    }

    private static long[] NewTokenPlaces()
    {
        var places = new long[Tokens.Length];
        places.AsSpan().Fill(-1);
        return places;
    }

    private ref Mark FindMark(string symbol, out bool known)
    {
        if (marks is null || markCount > MaxMarks)
        {
            // At first, and when a client has gone through thousands of symbols: start afresh (a few quotes then go
            // out without their predecessor; nothing else changes).
            marks = new Mark[64];
            markCount = 0;
        }
        else if (markCount * 2 >= marks.Length)
        {
            var old = marks;
            marks = new Mark[old.Length * 2];
            foreach (var m in old)
            {
                if (m.Symbol is not null)
                {
                    Slot(m.Symbol) = m;
                }
            }
        }

        ref var mark = ref Slot(symbol);
        known = mark.Symbol is not null;
        if (!known)
        {
            mark.Symbol = symbol;
            markCount++;
        }

        return ref mark;
    }

    private ref Mark Slot(string symbol)
    {
        var table = marks!;
        var mask = table.Length - 1;
        // A cheap hash of the text (symbols are short and mostly distinct in their ends); equal text is the same symbol.
        var hash = symbol.Length == 0 ? 0 : (symbol.Length * 31) + (symbol[0] * 7) + symbol[^1] + (symbol[symbol.Length / 2] * 131);
        for (var i = hash & mask; ; i = (i + 1) & mask)
        {
            ref var mark = ref table[i];
            if (mark.Symbol is null || string.Equals(mark.Symbol, symbol, StringComparison.Ordinal))
            {
                return ref mark;
            }
        }
    }

    private struct Mark
    {
        public string? Symbol;
        public byte[]? Body;
        public long At;
        public int Hash;
    }


    /// <summary>
    /// How one body is written against the body before it: literal runs (their bits already coded), matches into the
    /// previous body (their distance is the client's distance between the two bodies plus a constant), and field
    /// names (matched to the client's last occurrence of each). Kept flat, one word per step, so a client's use of a
    /// script touches one array.
    /// </summary>
    internal static class Script
    {
        // The kind of a step, in a word's top two bits.
        private const ulong Literals = 0UL << 62; // up to 48 coded bits, their count in bits 56 to 61
        private const ulong Far = 1UL << 62; // the length's bits (0 to 23) and count (24 to 28); offset + 2^18 in 29 to 47
        private const ulong Token = 2UL << 62; // a field name to match: token in bits 16 to 29, offset in the body below
        private const ulong Place = 3UL << 62; // only where a field name sits, for the client's next references to it
        private const int MaxChunk = 48;
        private const int OffsetBias = 1 << 18;

        /// <summary>Works out the script of <paramref name="body"/> after <paramref name="previous"/>, <paramref name="farBase"/> bytes before it.</summary>
        public static int Build(ref ulong[] data, byte[] body, byte[]? previous, int farBase)
        {
            var count = 0;
            var code = DeflateCode.Quotes;
            var text = body.AsSpan();
            var reference = previous.AsSpan();
            int at = 0, j = 0, literalsFrom = 0;
            while (at < text.Length)
            {
                var b = text[at];
                var length = 0;
                if (!reference.IsEmpty)
                {
                    length = (uint)j < (uint)reference.Length && reference[j] == b ? text[at..].CommonPrefixLength(reference[j..]) : 0;
                    if (length < DeflateCode.MinMatch && b is (byte)',' or (byte)'"' or (byte)'{')
                    {
                        (length, j) = Realign(text[at..], reference, j);
                    }
                }

                var token = b is (byte)',' or (byte)'{' ? TokenAt(text, at) : -1;
                var farGain = 0;
                if (length >= DeflateCode.MinMatch)
                {
                    length = Math.Min(length, DeflateCode.MaxMatch);
                    farGain = LiteralCost(code, text.Slice(at, length)) - DeflateCode.MatchBits(length, farBase + at - j);
                }

                var tokenGain = token < 0 ? 0 : LiteralCost(code, Tokens[token]) - DeflateCode.MatchBits(Tokens[token].Length, 160);
                if (farGain <= 0 && tokenGain <= 0)
                {
                    at++;
                    j++;
                    continue;
                }

                count = AddLiterals(ref data, count, code, text[literalsFrom..at]);
                if (farGain >= tokenGain)
                {
                    var (bits, bitCount) = code.LengthSymbol(length);
                    count = Add(ref data, count, Far | bits | ((ulong)bitCount << 24) | ((ulong)(at - j + OffsetBias) << 29));
                }
                else
                {
                    length = Tokens[token].Length;
                    count = Add(ref data, count, Token | ((ulong)token << 16) | (uint)at);
                }

                at += length;
                j += length;
                literalsFrom = at;
            }

            count = AddLiterals(ref data, count, code, text[literalsFrom..]);

            // Every field name in the body, wherever it went (in a match or as literals), for the next quotes.
            for (var i = 0; i < text.Length; i++)
            {
                if (text[i] is (byte)',' or (byte)'{' && TokenAt(text, i) is var t && t >= 0)
                {
                    count = Add(ref data, count, Place | ((ulong)t << 16) | (uint)i);
                }
            }

            return count;
        }

        /// <summary>Writes a body for a client: its far matches <paramref name="farBase"/> bytes plus their offset back.</summary>
        public static void Write(ReadOnlySpan<ulong> script, ref DeflateBitWriter bits, DeflateCode.QuoteCode code, long at, int farBase, long[] tokenAt)
        {
            var writer = bits;
            foreach (var word in script)
            {
                switch (word >> 62)
                {
                    case 0:
                        writer.Put(word & ((1UL << MaxChunk) - 1), (int)(word >> 56) & 63);
                        break;
                    case 1:
                        code.Match(ref writer, (uint)word & 0xFFFFFF, (int)(word >> 24) & 31, farBase + (int)((word >> 29) & 0x7FFFF) - OffsetBias);
                        break;
                    case 2:
                        WriteToken(ref writer, code, (int)(word >> 16) & 0x3FFF, at + (long)(word & 0xFFFF), tokenAt);
                        break;
                    default:
                        tokenAt[(int)(word >> 16) & 0x3FFF] = at + (long)(word & 0xFFFF);
                        break;
                }
            }

            bits = writer;
        }

        private static int LiteralCost(DeflateCode.QuoteCode code, ReadOnlySpan<byte> bytes)
        {
            var bits = 0;
            foreach (var b in bytes)
            {
                bits += code.LiteralBits(b);
            }

            return bits;
        }

        // A value changed length, or a field is missing on one side: look a few bytes either way, then anywhere.
        private static (int Length, int At) Realign(ReadOnlySpan<byte> rest, ReadOnlySpan<byte> reference, int j)
        {
            for (var shift = 1; shift <= 3; shift++)
            {
                foreach (var candidate in (ReadOnlySpan<int>)[j + shift, j - shift])
                {
                    if ((uint)candidate < (uint)reference.Length && reference[candidate] == rest[0] && rest.CommonPrefixLength(reference[candidate..]) is var found && found >= 4)
                    {
                        return (found, candidate);
                    }
                }
            }

            if (rest.Length >= 6 && reference.IndexOf(rest[..6]) is var anywhere && anywhere >= 0)
            {
                return (rest.CommonPrefixLength(reference[anywhere..]), anywhere);
            }

            return (0, j);
        }

        /// <summary>Codes literals into chunks of at most 48 bits, one word each.</summary>
        private static int AddLiterals(ref ulong[] data, int count, DeflateCode.QuoteCode code, ReadOnlySpan<byte> values)
        {
            ulong pending = 0;
            var pendingBits = 0;
            foreach (var value in values)
            {
                var (bits, length) = code.LiteralCode(value);
                if (pendingBits + length > MaxChunk)
                {
                    count = Add(ref data, count, Literals | ((ulong)pendingBits << 56) | pending);
                    pending = 0;
                    pendingBits = 0;
                }

                pending |= (ulong)bits << pendingBits;
                pendingBits += length;
            }

            return pendingBits > 0 ? Add(ref data, count, Literals | ((ulong)pendingBits << 56) | pending) : count;
        }

        private static int Add(ref ulong[] data, int count, ulong word)
        {
            if (count == data.Length)
            {
                Array.Resize(ref data, data.Length * 2);
            }

            data[count] = word;
            return count + 1;
        }
    }

    /// <summary>
    /// Scripts of the bodies this thread wrote lately, keyed by the body and the one before it (by reference: bodies
    /// are shared, immutable arrays). Direct-mapped, so a lookup is one probe, and nothing is allocated once warm.
    /// </summary>
    private sealed class ScriptCache
    {
        private const int Size = 16384;

        [ThreadStatic]
        private static ScriptCache? shared;

        private readonly Entry[] entries = new Entry[Size];

        public static ScriptCache Shared => shared ??= new ScriptCache();

        public ReadOnlySpan<ulong> Get(byte[] body, int bodyHash, byte[]? previous, int previousHash, int farBase)
        {
            ref var entry = ref entries[(uint)((bodyHash * -1640531535) ^ previousHash) % Size];
            if (!ReferenceEquals(entry.Body, body) || !ReferenceEquals(entry.Previous, previous) || entry.Data is null)
            {
                entry.Data ??= new ulong[48];
                entry.Count = Script.Build(ref entry.Data, body, previous, farBase);
                entry.Body = body;
                entry.Previous = previous;
            }

            return entry.Data.AsSpan(0, entry.Count);
        }

        private struct Entry
        {
            public byte[]? Body;
            public byte[]? Previous;
            public ulong[]? Data;
            public int Count;
        }
    }
}
