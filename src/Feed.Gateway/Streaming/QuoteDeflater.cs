using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MarketStream.Contracts;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// One quote of an <c>updates</c> frame: where it starts in the message, the compressor's place for its symbol on
/// this connection, and its shared body written there.
/// </summary>
internal readonly record struct QuoteSpan(int Start, QuoteMark Mark, QuoteBody Body);

/// <summary>
/// Where a connection's <see cref="QuoteDeflater"/> last wrote a quote of one symbol: the body, its number, and
/// its place in the stream the client inflated. One per subscription (a <see cref="SubscriptionSlot"/> is one), so
/// the compressor finds it with the quote, without a table of its own; a new subscription starts with none. Only
/// the connection's sender reads or writes it.
/// </summary>
internal class QuoteMark
{
    /// <summary>The body last written for the symbol, or null.</summary>
    internal QuoteBody? Body;

    /// <summary>Its <see cref="QuoteBody.Number"/>, so what was worked out against it is found without reading it.</summary>
    internal long Number;

    /// <summary>Where it starts in the stream.</summary>
    internal long At;

    /// <summary>Whether it came after another quote in its frame (the closing brace and comma stand before it).</summary>
    internal bool Led;
}

/// <summary>
/// Compresses one connection's <c>updates</c> frames with the server's deflate context kept (RFC 7692 without
/// <c>server_no_context_takeover</c>): each quote is written as matches against what this client inflated before,
/// at places known without searching.
/// </summary>
/// <remarks>
/// <para>
/// A general deflater finds repeats by hashing all it has seen: per connection, a window and a hash table of about
/// 230 KiB, which 1,000 busy connections cannot keep in cache (measured: 3.9 core-seconds per million quotes,
/// against 0.8 uncompressed). This one knows where the repeats are. The client's inflater holds the last 32 KiB it
/// inflated, and the gateway wrote those bytes from shared, immutable quote bodies (<see cref="QuoteBody"/>), which
/// say where each name starts. So all a connection keeps is the count of bytes inflated, the last body of each
/// symbol it was sent with its place in the stream (in the subscription: <see cref="QuoteMark"/>), and, for each
/// name, the place it last went out at and the body it went out in.
/// </para>
/// <para>
/// At each name of a body, two references are weighed: the same name in the symbol's last quote (the digits of a
/// price that did not move) and the same name where it last went out, in the last body that had it (the
/// leading digits of a timestamp, a round size). The longer repeat wins, running on through the value and what
/// follows and back over the literals before it; every byte of a match is compared, so the places are hints only.
/// Frames are one block each, in the code <see cref="DeflateCode.For"/> picks for the frame.
/// </para>
/// <para>
/// Not thread-safe: the connection's one sender calls it, in the order the messages go out. Every message the
/// client inflates must pass through here: compressed here, or counted with <see cref="Advance"/>.
/// </para>
/// </remarks>
internal sealed class QuoteDeflater
{
    private static readonly byte[][] Names = BuildNames();

    // What stands between two quotes of a frame.
    private static ReadOnlySpan<byte> Lead => "},"u8;

    private static readonly int[] NameLengths = [.. Names.Select(n => n.Length)];

    // Where each name last went out (stream position; a long way back when never), the body it went out in (for the
    // parts of a quote), and whether the closing brace and comma of the quote before stand before the last body.
    private long[]? lastAt;
    private QuoteBody?[]? lastBodies;
    private bool lastBodyLed;

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
        var code = DeflateCode.For(message);
        if (output.Length < MaxOutput(message.Length))
        {
            throw new ArgumentException($"a message of {message.Length} bytes needs {MaxOutput(message.Length)} bytes to compress into, not {output.Length}", nameof(output));
        }

        var bits = new DeflateBitWriter(output, output.Length - sizeof(ulong));
        code.Begin(ref bits);
        lastAt ??= NewPlaces();
        lastBodies ??= new QuoteBody?[QuoteBody.PartCount];

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

        var lead = 0;
        for (var k = 0; k < quotes.Length; k++)
        {
            var quote = quotes[k];
            var start = quote.Start;
            var end = k + 1 < quotes.Length ? quotes[k + 1].Start : message.Length;
            var at = position + start;
            var body = quote.Body;
            Debug.Assert(message[start..].StartsWith(body.Span), "a quote's body is where its span says");
            var mark = quote.Mark;

            // What the body repeats of the symbol's last quote here, worked out once per pair of bodies for every
            // client that had the same one.
            var repeats = mark.Body is { } previous && at - mark.At <= DeflateCode.Window ? (Repeats)body.Against(previous, mark.Number, Repeats.Work) : null;
            WriteBody(ref bits, code, body, at, repeats, at - mark.At, lead, repeats is not null && mark.Led);
            mark.Body = body;
            mark.Number = body.Number;
            mark.At = at;
            mark.Led = lead > 0;

            // The closing brace and comma before the next quote are left to it: they may open its first match.
            var tailEnd = end;
            if (k + 1 < quotes.Length && end - start - body.Length >= Lead.Length && message[end - 2] == Lead[0] && message[end - 1] == Lead[1])
            {
                tailEnd -= Lead.Length;
            }

            if (tailEnd > start + body.Length)
            {
                WriteTail(ref bits, code, message[(start + body.Length)..tailEnd], at + body.Length, lastAt);
            }

            lead = end - tailEnd;
        }

        if (isUpdates)
        {
            prefixAt = position;
        }

        position += message.Length;
        return code.End(ref bits);
    }

    /// <summary>
    /// Writes a body: at each name, a match to the same name in this symbol's last quote (as far as the bytes agree
    /// around it there, worked out once per pair of bodies: <paramref name="repeats"/>, <paramref name="gap"/> bytes
    /// back) or to the same name in the last body that had it, usually the quote before in this frame (as far as
    /// the bytes agree there), whichever saves more; the bytes no match covers as literals.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WriteBody(ref DeflateBitWriter output, DeflateCode.QuoteCode code, QuoteBody body, long at, Repeats? repeats, long gap, int lead, bool previousLed)
    {
        // Copies the compiler can keep in registers; the writer is put back at the end.
        var bits = output;
        ref var lastAt = ref MemoryMarshal.GetArrayDataReference(this.lastAt!);
        ref var nameLength = ref MemoryMarshal.GetArrayDataReference(NameLengths);
        var text = body.Span;
        var starts = body.Starts;
        ref var lastBody = ref MemoryMarshal.GetArrayDataReference(lastBodies!);
        var pending = 0;

        // The closing brace and comma before this body (lead), not written yet: a match at the first name may start
        // on them where its reference had them too.
        var leadLeft = lead;
        var previousLead = previousLed ? lead : 0;
        var lastBodyLead = lastBodyLed ? lead : 0;
        foreach (var part in body.Parts)
        {
            int start = Unsafe.Add(ref MemoryMarshal.GetReference(starts), part);
            ref var nameAt = ref Unsafe.Add(ref lastAt, part);
            if (start >= pending)
            {
                // The symbol's last quote: the bytes that agree around this name there.
                int length = 0, back = 0, distance = 0, score = int.MinValue;
                if (repeats is not null && Unsafe.Add(ref repeats.ByPart[0], part) is var repeat && repeat != 0 && gap + (int)(repeat >> 32) is var far && far <= DeflateCode.Window)
                {
                    back = start == 0 ? previousLead : Math.Min((int)(repeat >> 16) & 0xFF, start - pending);
                    length = Math.Min((int)(repeat & 0xFFFF) + back, DeflateCode.MaxMatch);
                    distance = (int)far;
                    score = (length * 4) - DeflateCode.MatchBits(length, distance);
                }

                // Where the name last went out: in the last body that had it (usually the quote before in this
                // frame), as far as the bytes agree there.
                var near = at + start - nameAt;
                if (near <= DeflateCode.Window)
                {
                    int name = Unsafe.Add(ref nameLength, part), nearLength = name, nearBack = 0;
                    if (Unsafe.Add(ref lastBody, part) is { } last)
                    {
                        // The names agree (the places were checked): compare from the values on, and before the names
                        // (before the first name: the closing brace and comma, where they stood before that body too).
                        var other = last.Span;
                        int theirs = Unsafe.Add(ref MemoryMarshal.GetReference(last.Starts), part);
                        Debug.Assert(theirs >= 0, "the last body a name went out in has it");
                        nearBack = start == 0 ? lastBodyLead : CommonLengthBefore(text, start, other, theirs, start - pending);
                        nearLength = Math.Min(name + CommonLength(text, start + name, other, theirs + name) + nearBack, DeflateCode.MaxMatch);
                    }

                    var nearScore = (nearLength * 4) - DeflateCode.MatchBits(nearLength, (int)near);
                    if (nearScore > score)
                    {
                        (length, back, distance, score) = (nearLength, nearBack, (int)near, nearScore);
                    }
                }

                if (score > int.MinValue)
                {
                    if (start - back < 0)
                    {
                        leadLeft = 0;
                    }
                    else
                    {
                        WriteLead(ref bits, code, ref leadLeft);
                        code.Literals(ref bits, text[pending..(start - back)]);
                    }

                    code.Match(ref bits, length, distance);
                    pending = start - back + length;
                }
            }

            nameAt = at + start;
            Unsafe.Add(ref lastBody, part) = body;
        }

        WriteLead(ref bits, code, ref leadLeft);
        code.Literals(ref bits, text[pending..]);
        output = bits;
        lastBodyLed = lead > 0;
    }

    private static void WriteLead(ref DeflateBitWriter bits, DeflateCode.QuoteCode code, ref int left)
    {
        if (left > 0)
        {
            code.Literals(ref bits, Lead[^left..]);
            left = 0;
        }
    }

    /// <summary>
    /// How many bytes agree from <paramref name="start"/> in <paramref name="text"/> and <paramref name="theirs"/> in
    /// <paramref name="reference"/>. The first eight are compared here, where the caller is (two values mostly differ
    /// within them), the rest in a loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CommonLength(ReadOnlySpan<byte> text, int start, ReadOnlySpan<byte> reference, int theirs)
    {
        var most = Math.Min(text.Length - start, reference.Length - theirs);
        ref var a = ref Unsafe.Add(ref MemoryMarshal.GetReference(text), start);
        ref var b = ref Unsafe.Add(ref MemoryMarshal.GetReference(reference), theirs);
        if (most < sizeof(ulong))
        {
            return CommonLength(ref a, ref b, most);
        }

        var differ = Unsafe.ReadUnaligned<ulong>(ref a) ^ Unsafe.ReadUnaligned<ulong>(ref b);
        return differ != 0
            ? BitOperations.TrailingZeroCount(differ) >> 3
            : sizeof(ulong) + CommonLength(ref Unsafe.Add(ref a, sizeof(ulong)), ref Unsafe.Add(ref b, sizeof(ulong)), most - sizeof(ulong));
    }

    /// <summary>
    /// How many bytes agree just before <paramref name="start"/> and <paramref name="theirs"/>, at most
    /// <paramref name="most"/>. The eight nearest are compared here, where the caller is, the rest in a loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CommonLengthBefore(ReadOnlySpan<byte> text, int start, ReadOnlySpan<byte> reference, int theirs, int most)
    {
        var limit = Math.Min(most, Math.Min(start, theirs));
        ref var a = ref Unsafe.Add(ref MemoryMarshal.GetReference(text), start);
        ref var b = ref Unsafe.Add(ref MemoryMarshal.GetReference(reference), theirs);
        if (start < sizeof(ulong) || theirs < sizeof(ulong))
        {
            return CommonLengthBefore(ref a, ref b, limit);
        }

        // Bytes are read little-endian: the one nearest the start is the highest.
        var differ = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Subtract(ref a, sizeof(ulong))) ^ Unsafe.ReadUnaligned<ulong>(ref Unsafe.Subtract(ref b, sizeof(ulong)));
        return differ != 0 || limit <= sizeof(ulong)
            ? Math.Min(differ != 0 ? BitOperations.LeadingZeroCount(differ) >> 3 : sizeof(ulong), limit)
            : sizeof(ulong) + CommonLengthBefore(ref Unsafe.Subtract(ref a, sizeof(ulong)), ref Unsafe.Subtract(ref b, sizeof(ulong)), limit - sizeof(ulong));
    }

    /// <summary>How many of the <paramref name="limit"/> bytes just before two places agree, eight at a time.</summary>
    private static int CommonLengthBefore(ref byte a, ref byte b, int limit)
    {
        var back = 0;
        for (; back + sizeof(ulong) <= limit; back += sizeof(ulong))
        {
            var at = -back - sizeof(ulong);
            var differ = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref a, at)) ^ Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref b, at));
            if (differ != 0)
            {
                return back + (BitOperations.LeadingZeroCount(differ) >> 3);
            }
        }

        while (back < limit && Unsafe.Add(ref a, -back - 1) == Unsafe.Add(ref b, -back - 1))
        {
            back++;
        }

        return back;
    }

    /// <summary>How many of the first <paramref name="most"/> bytes of two runs agree, eight at a time.</summary>
    private static int CommonLength(ref byte a, ref byte b, int most)
    {
        var i = 0;
        for (; i + sizeof(ulong) <= most; i += sizeof(ulong))
        {
            var differ = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref a, i)) ^ Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref b, i));
            if (differ != 0)
            {
                return i + (BitOperations.TrailingZeroCount(differ) >> 3);
            }
        }

        while (i < most && Unsafe.Add(ref a, i) == Unsafe.Add(ref b, i))
        {
            i++;
        }

        return i;
    }

    /// <summary>
    /// How much of each part of a body repeats the body before it of the same symbol: from the name on, and before
    /// it. Depends on the two bodies only, so it is worked out once per pair and kept with the body
    /// (<see cref="QuoteBody.Against"/>) for every client that had the same previous quote.
    /// </summary>
    private sealed class Repeats : BodyPair
    {
        public static readonly Func<QuoteBody, QuoteBody, BodyPair> Work = (body, previous) => new Repeats(body, previous);

        private Repeats(QuoteBody body, QuoteBody previous)
            : base(previous.Number)
        {
            var text = body.Span;
            var reference = previous.Span;
            for (var part = 0; part < QuoteBody.PartCount; part++)
            {
                int start = body.Starts[part], theirs = previous.Starts[part];
                if (start < 0 || theirs < 0)
                {
                    continue;
                }

                // Forward at least over the name (the places were checked), so never zero where both have the part.
                var forward = Math.Min(CommonLength(text, start, reference, theirs), DeflateCode.MaxMatch);
                var back = CommonLengthBefore(text, start, reference, theirs, 255);

                ByPart[part] = (uint)forward | ((ulong)(uint)back << 16) | ((ulong)(uint)(start - theirs) << 32);
            }
        }

        /// <summary>
        /// By part: the bytes that agree from the name on (bits 0 to 15), before it (16 to 23), and how much further
        /// into its body the name sits than in the previous one (the top 32 bits, signed); 0 where either lacks the part.
        /// </summary>
        public ByParts ByPart;

        [InlineArray(QuoteBody.PartCount)]
        public struct ByParts
        {
            private ulong repeat;
        }
    }

    /// <summary>What follows a body up to the next quote (this client's counts, the closing brace, a comma).</summary>
    private static void WriteTail(ref DeflateBitWriter bits, DeflateCode.QuoteCode code, ReadOnlySpan<byte> tail, long at, long[] lastAt)
    {
        var literalsFrom = 0;
        for (var i = 0; i < tail.Length; i++)
        {
            var token = tail[i] == (byte)',' ? TailTokenAt(tail, i) : -1;
            if (token < 0)
            {
                continue;
            }

            code.Literals(ref bits, tail[literalsFrom..i]);
            var length = NameLengths[token];
            var distance = at + i - lastAt[token];
            if (distance <= DeflateCode.Window)
            {
                code.Match(ref bits, length, (int)distance);
            }
            else
            {
                code.Literals(ref bits, Names[token]);
            }

            lastAt[token] = at + i;
            i += length - 1;
            literalsFrom = i + 1;
        }

        code.Literals(ref bits, tail[literalsFrom..]);
    }

    /// <summary>The count's name (<c>conflated</c>, <c>dropped</c>) that starts at <paramref name="i"/>, or -1.</summary>
    private static int TailTokenAt(ReadOnlySpan<byte> text, int i)
    {
        // Each name is at least eight bytes: its first eight and its last eight bytes, read whole, settle it.
        var rest = text[i..];
        for (var t = QuoteBody.PartCount; t < Names.Length; t++)
        {
            var name = Names[t];
            if (rest.Length >= name.Length
                && Unsafe.ReadUnaligned<ulong>(ref MemoryMarshal.GetReference(rest)) == Unsafe.ReadUnaligned<ulong>(ref name[0])
                && Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref MemoryMarshal.GetReference(rest), name.Length - sizeof(ulong))) == Unsafe.ReadUnaligned<ulong>(ref name[^sizeof(ulong)]))
            {
                return t;
            }
        }

        return -1;
    }

    // Each part's name by part, then the names of this client's counts.
    private static byte[][] BuildNames()
    {
        var names = Enumerable.Range(0, QuoteBody.PartCount).Select(p => QuoteBody.NameOf(p).ToArray()).ToList();
        names.Add(",\"conflated\":"u8.ToArray());
        names.Add(",\"dropped\":"u8.ToArray());
        return [.. names];
    }

    private static long[] NewPlaces()
    {
        var places = new long[Names.Length];
        places.AsSpan().Fill(long.MinValue / 2);
        return places;
    }
}
