using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// The pieces of raw deflate (RFC 1951) that <see cref="QuoteDeflater"/> writes with: the length and distance
/// codes, and one Huffman code for quote traffic, built once, whose block header every frame repeats.
/// </summary>
/// <remarks>
/// The code is a dynamic-block code (BTYPE 10) made from a fixed profile of what quote frames hold rather than
/// from each frame's own counts: digits short, field-name letters long (they travel in matches), every byte
/// codable, every length and distance possible. Building a code per frame fits a little better but costs a count,
/// a tree and a header per frame; this header is written once and copied as bits (55 bytes a frame; 85 for the
/// variant that codes every byte, which only frames with bytes outside printable ASCII need).
/// </remarks>
internal static class DeflateCode
{
    /// <summary>The longest distance back a match may reach (the 32 KiB window of <c>server_max_window_bits=15</c>).</summary>
    public const int Window = 32768;

    public const int MinMatch = 3;

    public const int MaxMatch = 258;

    public const int EndOfBlock = 256;

    private const int LitLenCodes = 286;
    private const int DistCodes = 30;
    private const int MaxBits = 15;

    private static readonly byte[] LengthCodes = new byte[MaxMatch + 1];
    private static readonly ushort[] LengthBase = new ushort[29];
    private static readonly byte[] LengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
    private static readonly ushort[] DistanceBase = new ushort[DistCodes];
    private static readonly byte[] DistanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
    private static readonly byte[] NearDistanceCode = new byte[256];
    private static readonly byte[] FarDistanceCode = new byte[256];

    static DeflateCode()
    {
        int length = 3, code = 0;
        for (; code < 28; code++)
        {
            LengthBase[code] = (ushort)length;
            for (var n = 0; n < 1 << LengthExtra[code]; n++)
            {
                LengthCodes[length++] = (byte)code;
            }
        }

        LengthBase[28] = MaxMatch;
        LengthCodes[MaxMatch] = 28;

        var distance = 1;
        for (code = 0; code < DistCodes; code++)
        {
            DistanceBase[code] = (ushort)distance;
            distance += 1 << DistanceExtra[code];
        }

        // As zlib does: distances up to 256 by themselves, longer ones by their bits above the lowest 7.
        for (code = 0; code < DistCodes; code++)
        {
            var last = code + 1 < DistCodes ? DistanceBase[code + 1] - 1 : Window;
            for (var d = DistanceBase[code]; d <= last; d++)
            {
                if (d <= 256)
                {
                    NearDistanceCode[d - 1] = (byte)code;
                }
                else
                {
                    FarDistanceCode[(d - 1) >> 7] = (byte)code;
                }
            }
        }

        Quotes = new QuoteCode(printableOnly: true);
        AnyBytes = new QuoteCode(printableOnly: false);
    }

    /// <summary>
    /// The code quote frames are written with when every byte of the frame is printable ASCII (as JSON written by
    /// this gateway is, unless a symbol or venue holds other characters): other bytes have no code, so its header is
    /// shorter.
    /// </summary>
    public static QuoteCode Quotes { get; }

    /// <summary>The same code with every byte codable, for the frames <see cref="Quotes"/> cannot write.</summary>
    public static QuoteCode AnyBytes { get; }

    /// <summary>The code for a frame: <see cref="Quotes"/> if it can write every byte of <paramref name="message"/>, else <see cref="AnyBytes"/>.</summary>
    public static QuoteCode For(ReadOnlySpan<byte> message) =>
        message.IndexOfAnyExceptInRange((byte)' ', (byte)'~') < 0 ? Quotes : AnyBytes;

    /// <summary>
    /// An estimate in bits of what a match costs, for a parser weighing it against literals: about 6 bits of length
    /// code and 5 of distance code, and the extra bits of each, worked out from the values (RFC 1951, 3.2.5).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int MatchBits(int length, int distance) =>
        11 + (length is < 11 or MaxMatch ? 0 : BitOperations.Log2((uint)(length - 3)) - 2) + (distance <= 4 ? 0 : BitOperations.Log2((uint)(distance - 1)) - 1);

    // The distance code of a distance from 1 to Window (unchecked: the caller has checked it).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int DistanceCodeOf(int distance) => distance <= 256
        ? Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(NearDistanceCode), distance - 1)
        : Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(FarDistanceCode), (distance - 1) >> 7);

    /// <summary>The Huffman code for quote frames, its header, and the writing of symbols with it.</summary>
    internal sealed class QuoteCode
    {
        private readonly byte[] literalLengths = new byte[LitLenCodes];
        private readonly uint[] literalCodes = new uint[LitLenCodes];
        private readonly byte[] distanceLengths = new byte[DistCodes];
        private readonly uint[] distanceCodes = new uint[DistCodes];

        // What the writing reads, one entry per symbol: each byte's code with its bit count above it (bits 16 up);
        // each match length's whole symbol, code and extra bits together, with its bit count in the high half; each
        // distance code's code, its bit count (bits 32 to 39) and its extra bits' count (bits 40 up).
        private readonly uint[] literalEntries = new uint[256];
        private readonly ulong[] lengthEntries = new ulong[MaxMatch + 1];
        private readonly ulong[] distanceEntries = new ulong[DistCodes];
        private readonly uint[] header;
        private readonly int headerBits;

        public QuoteCode(bool printableOnly)
        {
            var litLen = new HuffmanCode(LitLenCodes);
            litLen.Build(LiteralProfile(printableOnly), MaxBits);
            var dist = new HuffmanCode(DistCodes);
            dist.Build(DistanceProfile(), MaxBits);
            litLen.Lengths.CopyTo(literalLengths, 0);
            litLen.Codes.CopyTo(literalCodes, 0);
            dist.Lengths.CopyTo(distanceLengths, 0);
            dist.Codes.CopyTo(distanceCodes, 0);
            for (var value = 0; value < 256; value++)
            {
                literalEntries[value] = literalCodes[value] | ((uint)literalLengths[value] << 16);
            }

            for (var length = MinMatch; length <= MaxMatch; length++)
            {
                var code = LengthCodes[length];
                var bits = literalCodes[257 + code] | ((uint)(length - LengthBase[code]) << literalLengths[257 + code]);
                lengthEntries[length] = bits | ((ulong)(literalLengths[257 + code] + LengthExtra[code]) << 32);
            }

            for (var code = 0; code < DistCodes; code++)
            {
                distanceEntries[code] = distanceCodes[code] | ((ulong)distanceLengths[code] << 32) | ((ulong)DistanceExtra[code] << 40);
            }

            header = BuildHeader(literalLengths, distanceLengths, out headerBits);
        }

        private static uint[] BuildHeader(byte[] literalLengths, byte[] distanceLengths, out int headerBits)
        {
            var bytes = new byte[1024];
            var bits = new DeflateBitWriter(bytes, bytes.Length - sizeof(ulong));
            bits.Put(0b100, 3); // BFINAL 0, BTYPE 10: a block with its own code
            WriteHeader(ref bits, literalLengths, distanceLengths);
            headerBits = bits.BitCount;
            var written = bits.Flush();
            var header = new uint[(written + 3) / 4];
            for (var i = 0; i < written; i++)
            {
                header[i / 4] |= (uint)bytes[i] << (8 * (i % 4));
            }

            return header;
        }

        /// <summary>How many bits the block header takes.</summary>
        public int HeaderBits => headerBits;

        /// <summary>Starts a block: its header.</summary>
        public void Begin(ref DeflateBitWriter bits)
        {
            var left = headerBits;
            foreach (var word in header)
            {
                var n = Math.Min(32, left);
                bits.Put(n == 32 ? word : word & ((1u << n) - 1), n);
                left -= n;
            }
        }

        /// <summary>Literals, their codes gathered into as few puts as fit.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Literals(ref DeflateBitWriter bits, ReadOnlySpan<byte> values)
        {
            ref var entries = ref MemoryMarshal.GetArrayDataReference(literalEntries);
            ulong gathered = 0;
            var count = 0;
            foreach (var value in values)
            {
                var entry = Unsafe.Add(ref entries, value);
                var length = (int)(entry >> 16);
                Debug.Assert(length > 0, "a byte this code has no code for (For chooses the code that has)");
                if (count + length > DeflateBitWriter.MaxPut)
                {
                    bits.Put(gathered, count);
                    gathered = 0;
                    count = 0;
                }

                gathered |= (ulong)(entry & 0xFFFF) << count;
                count += length;
            }

            if (count > 0)
            {
                bits.Put(gathered, count);
            }
        }

        /// <summary>A copy of <paramref name="length"/> bytes from <paramref name="distance"/> bytes back.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Match(ref DeflateBitWriter bits, int length, int distance)
        {
            if ((uint)(length - MinMatch) > MaxMatch - MinMatch || (uint)(distance - 1) >= Window)
            {
                ThrowNoMatch(length, distance);
            }

            var lengthEntry = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(lengthEntries), length);
            var code = DistanceCodeOf(distance);
            var distanceEntry = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(distanceEntries), code);
            var lengthCount = (int)(lengthEntry >> 32);
            var codeCount = (int)(distanceEntry >> 32) & 0xFF;
            var distanceBits = (uint)distanceEntry | ((uint)(distance - Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(DistanceBase), code)) << codeCount);
            bits.Put((uint)lengthEntry | ((ulong)distanceBits << lengthCount), lengthCount + codeCount + (int)(distanceEntry >> 40));
        }

        [DoesNotReturn]
        private static void ThrowNoMatch(int length, int distance) =>
            throw new ArgumentOutOfRangeException(nameof(length), $"no deflate match has length {length} at distance {distance}");

        /// <summary>Ends the block and the message as RFC 7692 section 7.2.1 says: an empty stored block, its LEN and NLEN left off.</summary>
        public int End(ref DeflateBitWriter bits)
        {
            bits.Put(literalCodes[EndOfBlock], literalLengths[EndOfBlock]);
            bits.Put(0, 3);
            return bits.Flush();
        }

        // How often each literal and length turns up in quote frames, roughly: counted on recorded fanout frames
        // with deltas, as this encoder writes them, then smoothed so that any byte (only printable ASCII when
        // printableOnly) and any length stays codable in at most 15 bits.
        private static int[] LiteralProfile(bool printableOnly)
        {
            var weight = new int[LitLenCodes];
            for (var b = 0; b < 256; b++)
            {
                weight[b] = b switch
                {
                    < ' ' or > '~' when printableOnly => 0,
                    >= '0' and <= '9' => 1000, // the digits that changed
                    (byte)'}' => 550, // a quote's end, then the comma before the next
                    (byte)',' => 530,
                    (byte)'"' => 370, // a venue's closing quote
                    (byte)'.' => 300,
                    >= 'A' and <= 'Z' => 60,
                    (byte)':' or (byte)']' or (byte)'{' => 10,
                    >= 'a' and <= 'z' => 6,
                    (byte)'-' or (byte)'/' or (byte)'_' or (byte)' ' => 3,
                    > 32 and < 127 => 2,
                    _ => 1,
                };
            }

            weight[EndOfBlock] = 11;
            for (var code = 0; code < 29; code++)
            {
                weight[257 + code] = code switch
                {
                    < 4 => 20, // 3 to 6 bytes
                    4 => 42,
                    5 => 36,
                    6 => 85,
                    7 => 377, // 10: a field name
                    8 => 1710, // 11 and 12: a field name and the digits that did not change
                    9 => 1480,
                    10 => 200,
                    11 => 118,
                    12 => 443, // 19 to 22: a timestamp's name and the digits it shares with the one before
                    13 => 506, // 23 to 26: the same, and the frame's opening
                    14 => 25,
                    15 => 17,
                    16 => 5,
                    < 20 => 5,
                    _ => 2,
                };
            }

            return weight;
        }

        // Near distances (inside a frame, to the same name in the quote before) and far ones (the last quote of the
        // symbol, a frame back: 6 to 8 KiB for 50 quotes a frame) are both common; the others stay codable.
        private static int[] DistanceProfile()
        {
            var weight = new int[DistCodes];
            for (var code = 0; code < DistCodes; code++)
            {
                weight[code] = code switch
                {
                    < 10 => 1,
                    < 12 => 3,
                    12 => 5,
                    13 => 30,
                    14 => 800, // 129 to 192: the quote before
                    15 => 20,
                    16 => 35,
                    < 25 => 12,
                    25 => 540,
                    _ => 8,
                };
            }

            return weight;
        }

        /// <summary>The code lengths, run-length coded with a code of their own (RFC 1951 section 3.2.7).</summary>
        private static void WriteHeader(ref DeflateBitWriter bits, byte[] litLen, byte[] dist)
        {
            ReadOnlySpan<byte> order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
            var lengths = litLen.Concat(dist).ToArray();
            var runs = new List<(int Code, int Extra)>();
            var frequency = new int[19];
            for (var i = 0; i < lengths.Length;)
            {
                var value = lengths[i];
                var run = 1;
                while (i + run < lengths.Length && lengths[i + run] == value)
                {
                    run++;
                }

                if (value == 0 && run >= 3)
                {
                    run = Math.Min(run, 138);
                    runs.Add(run <= 10 ? (17, run - 3) : (18, run - 11));
                }
                else if (value != 0 && run >= 4)
                {
                    // The value once, then "repeat the last" 3 to 6 more times.
                    run = Math.Min(run, 7);
                    runs.Add((value, 0));
                    runs.Add((16, run - 4));
                }
                else
                {
                    run = 1;
                    runs.Add((value, 0));
                }

                i += run;
            }

            foreach (var (code, _) in runs)
            {
                frequency[code]++;
            }

            var codeLengthCode = new HuffmanCode(19);
            codeLengthCode.Build(frequency, 7);
            var codeLengthCount = 19;
            while (codeLengthCount > 4 && codeLengthCode.Lengths[order[codeLengthCount - 1]] == 0)
            {
                codeLengthCount--;
            }

            bits.Put((uint)(litLen.Length - 257), 5);
            bits.Put((uint)(dist.Length - 1), 5);
            bits.Put((uint)(codeLengthCount - 4), 4);
            for (var i = 0; i < codeLengthCount; i++)
            {
                bits.Put(codeLengthCode.Lengths[order[i]], 3);
            }

            foreach (var (code, extra) in runs)
            {
                bits.Put(codeLengthCode.Codes[code], codeLengthCode.Lengths[code]);
                switch (code)
                {
                    case 16:
                        bits.Put((uint)extra, 2);
                        break;
                    case 17:
                        bits.Put((uint)extra, 3);
                        break;
                    case 18:
                        bits.Put((uint)extra, 7);
                        break;
                }
            }
        }
    }

    /// <summary>A canonical Huffman code: each symbol's length, and its code with the bits reversed for writing.</summary>
    private sealed class HuffmanCode(int size)
    {
        public byte[] Lengths { get; } = new byte[size];

        public uint[] Codes { get; } = new uint[size];

        /// <summary>
        /// A Huffman code for <paramref name="frequency"/> with no code longer than <paramref name="limit"/> (the
        /// weights are halved until none is); at least two symbols get a code, so the code is complete.
        /// </summary>
        public void Build(int[] frequency, int limit)
        {
            var used = Enumerable.Range(0, size).Where(s => frequency[s] > 0).ToList();
            for (var s = 0; used.Count < 2; s++)
            {
                if (!used.Contains(s))
                {
                    used.Add(s);
                }
            }

            for (var shift = 0; ; shift++)
            {
                Array.Clear(Lengths);
                var queue = new PriorityQueue<List<int>, long>();
                foreach (var s in used)
                {
                    queue.Enqueue([s], Math.Max(1, (long)frequency[s] >> shift));
                }

                while (queue.Count > 1)
                {
                    queue.TryDequeue(out var a, out var wa);
                    queue.TryDequeue(out var b, out var wb);
                    a!.AddRange(b!);
                    foreach (var s in a)
                    {
                        Lengths[s]++;
                    }

                    queue.Enqueue(a, wa + wb);
                }

                if (used.All(s => Lengths[s] <= limit))
                {
                    break;
                }
            }

            AssignCodes();
        }

        private void AssignCodes()
        {
            var lengthCount = new int[MaxBits + 1];
            foreach (var length in Lengths)
            {
                lengthCount[length]++;
            }

            lengthCount[0] = 0;
            var next = new uint[MaxBits + 1];
            uint code = 0;
            for (var bits = 1; bits <= MaxBits; bits++)
            {
                code = (code + (uint)lengthCount[bits - 1]) << 1;
                next[bits] = code;
            }

            for (var s = 0; s < size; s++)
            {
                int length = Lengths[s];
                if (length != 0)
                {
                    var c = next[length]++;
                    uint reversed = 0;
                    for (var i = 0; i < length; i++)
                    {
                        reversed = (reversed << 1) | ((c >> i) & 1);
                    }

                    Codes[s] = reversed;
                }
            }
        }
    }
}

/// <summary>
/// Bits packed from the least significant end, as deflate packs them. Each put writes eight bytes and keeps the
/// last partial byte, so the output needs eight bytes of room past what it will hold: the writer checks its room
/// once, when made (<paramref name="room"/> bytes of writing at most), and not on every put.
/// </summary>
internal ref struct DeflateBitWriter
{
    /// <summary>The most bits one <see cref="Put"/> takes.</summary>
    public const int MaxPut = 56;

    private readonly ref byte output;
    private ulong pending;
    private int pendingBits;
    private int position;

    public DeflateBitWriter(Span<byte> output, int room)
    {
        if (room < 0 || output.Length < room + sizeof(ulong))
        {
            throw new ArgumentException($"{output.Length} bytes is not room for {room} bytes of output", nameof(output));
        }

        this.output = ref MemoryMarshal.GetReference(output);
    }

    /// <summary>Bits written so far.</summary>
    public readonly int BitCount => (position * 8) + pendingBits;

    /// <summary>Appends the low <paramref name="bitCount"/> bits of <paramref name="value"/> (at most <see cref="MaxPut"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Put(ulong value, int bitCount)
    {
        pending |= value << pendingBits;
        pendingBits += bitCount;
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref output, position), pending);
        var whole = pendingBits >> 3;
        position += whole;
        pending = whole == 8 ? 0 : pending >> (whole << 3);
        pendingBits &= 7;
    }

    /// <summary>Writes what is left, padded to a whole byte, and returns the bytes written.</summary>
    public int Flush()
    {
        if (pendingBits > 0)
        {
            Unsafe.Add(ref output, position++) = (byte)pending;
            pending = 0;
            pendingBits = 0;
        }

        return position;
    }
}
