using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MarketStream.Contracts;

/// <summary>
/// A quote object as the wire carries it, without its closing brace (so a client's own counts can follow), and
/// where each of its names starts. Written once per quote (or per quote and baseline, for the <c>delta</c>
/// extension) and shared by every frame that carries it; immutable.
/// </summary>
/// <remarks>
/// The places let a compressor that keeps its context find, for each name, the same name in an earlier quote
/// without searching; they are checked when the body is made, so a compressor may rely on them. What a compressor
/// works out about a body against an earlier one can be remembered with it (<see cref="Against"/>).
/// </remarks>
public sealed class QuoteBody
{
    /// <summary>The part for the symbol, whose name opens the object (<c>{"symbol":"</c>).</summary>
    public const int Symbol = 0;

    /// <summary>The part for <c>seq</c>.</summary>
    public const int Seq = 1;

    /// <summary>The part for <c>ts</c>.</summary>
    public const int Ts = 2;

    /// <summary>How many parts a quote object has: symbol, seq, ts and each of <see cref="QuoteFields.All"/>.</summary>
    public const int PartCount = 3 + QuoteFields.Count;

    private static readonly short[] WireOrder = BuildOrder();
    private static readonly byte[][] Names = [.. Enumerable.Range(0, PartCount).Select(WriteName)];

    private const int MemoSlots = 4;

    private static long bodies;

    private readonly byte[] utf8;

    // Where each part starts, by part (PartCount entries), then the parts present in wire order: kept in the object
    // itself, so reading a body's places costs no second object.
    private Layout layout;
    private readonly int partsPresent;

    // This body's number, given the first time it is asked for (0 until then).
    private long number;

    // What was worked out against earlier bodies: their numbers, side by side (one line to scan), the results, and
    // the slot the next one takes. Kept in the body itself, which the compressor has just read, rather than in an
    // object of their own: that would be one more read from memory per quote and connection.
    private MemoKeys memoKeys;
    private MemoEntries memoEntries;
    private int memoNext;

    /// <summary>A body and where each part's name starts in it (-1 where the part is absent), by part.</summary>
    public QuoteBody(byte[] utf8, ReadOnlySpan<short> starts)
    {
        ArgumentNullException.ThrowIfNull(utf8);
        if (starts.Length != PartCount)
        {
            throw new ArgumentException($"a quote body has {PartCount} parts, not {starts.Length}", nameof(starts));
        }

        for (var part = 0; part < PartCount; part++)
        {
            var start = starts[part];
            if (start < -1 || start >= utf8.Length || (start >= 0 && !utf8.AsSpan(start).StartsWith(Names[part])))
            {
                throw new ArgumentException($"the name of part {part} does not start at {start} in this body", nameof(starts));
            }
        }

        this.utf8 = utf8;
        starts.CopyTo(layout);
        foreach (var part in WireOrder)
        {
            if (starts[part] >= 0)
            {
                layout[PartCount + partsPresent++] = part;
            }
        }
    }

    /// <summary>The body's bytes, as written.</summary>
    public ReadOnlyMemory<byte> Utf8 => utf8;

    /// <summary>The body's bytes, as written.</summary>
    public ReadOnlySpan<byte> Span => utf8;

    // The bytes themselves, for the quote that owns the body; never handed out for writing.
    internal byte[] Bytes => utf8;

    /// <summary>The body's length in bytes.</summary>
    public int Length => utf8.Length;

    /// <summary>Where each part's name starts in <see cref="Utf8"/>, by part; -1 where the part is absent.</summary>
    public ReadOnlySpan<short> Starts => MemoryMarshal.CreateReadOnlySpan(ref layout[0], PartCount);

    /// <summary>The parts this body has, in the order it has them.</summary>
    public ReadOnlySpan<short> Parts => MemoryMarshal.CreateReadOnlySpan(ref layout[PartCount], partsPresent);

    /// <summary>The parts in the order a quote object writes them: symbol, seq, the fields before ts, ts, the rest.</summary>
    public static ReadOnlySpan<short> Order => WireOrder;

    /// <summary>The part of <paramref name="field"/>.</summary>
    public static int PartOf(QuoteField field)
    {
        ArgumentNullException.ThrowIfNull(field);
        return 3 + field.Index;
    }

    /// <summary>The name each part starts with, and what stands between it and the value (<c>,"bid":</c>, <c>,"venue":"</c>).</summary>
    public static ReadOnlySpan<byte> NameOf(int part) => Names[part];

    /// <summary>
    /// This body's number: unique among the bodies of this process, given the first time it is asked for. What is
    /// worked out against this body elsewhere (<see cref="Against"/>) names it by this number, so it holds no
    /// reference to it.
    /// </summary>
    public long Number
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref number) is var known && known != 0 ? known : GiveNumber();
    }

    /// <summary>
    /// What <paramref name="work"/> makes of this body against an <paramref name="earlier"/> one whose
    /// <see cref="Number"/> the caller kept (<paramref name="earlierNumber"/>), so that a remembered result is found
    /// without reading the earlier body at all. Remembered for the last few earlier bodies asked about (a body is
    /// shared by every client, and most clients of a symbol had one of a few earlier bodies). Safe from any thread:
    /// two may work out the same thing at once, and either result is kept.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="earlierNumber"/> is not <paramref name="earlier"/>'s number, or the result names another body.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public BodyPair Against(QuoteBody earlier, long earlierNumber, Func<QuoteBody, QuoteBody, BodyPair> work)
    {
        // An entry and its key are written one after the other, so a reader can see a key with the entry before it:
        // the entry names its earlier body, which confirms the match.
        for (var i = 0; i < MemoSlots; i++)
        {
            if (Volatile.Read(ref memoKeys[i]) == earlierNumber && Volatile.Read(ref memoEntries[i]) is { } pair && pair.Earlier == earlierNumber)
            {
                return pair;
            }
        }

        return Work(earlier, earlierNumber, work);
    }

    private BodyPair Work(QuoteBody earlier, long earlierNumber, Func<QuoteBody, QuoteBody, BodyPair> work)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        ArgumentNullException.ThrowIfNull(work);
        if (earlier.Number != earlierNumber)
        {
            throw new ArgumentException($"body {earlierNumber} was asked about with body {earlier.Number}", nameof(earlierNumber));
        }

        var made = work(this, earlier);
        if (made is null || made.Earlier != earlierNumber)
        {
            throw new ArgumentException($"the work against body {earlierNumber} made a result for body {made?.Earlier}", nameof(work));
        }

        var slot = (int)((uint)Interlocked.Increment(ref memoNext) % MemoSlots);
        Volatile.Write(ref memoEntries[slot], made);
        Volatile.Write(ref memoKeys[slot], earlierNumber);
        return made;
    }

    private long GiveNumber()
    {
        Interlocked.CompareExchange(ref number, Interlocked.Increment(ref bodies), 0);
        return Volatile.Read(ref number);
    }

    private static byte[] WriteName(int part) => System.Text.Encoding.UTF8.GetBytes(part switch
    {
        Symbol => "{\"symbol\":\"",
        Seq => ",\"seq\":",
        Ts => ",\"ts\":",
        _ => $",\"{QuoteFields.Table[part - 3].Name}\":{(QuoteFields.Table[part - 3].Kind == QuoteFieldKind.Text ? "\"" : string.Empty)}",
    });

    // For a changed-fields body: the quote it was written against, by seq and version (-1 for a whole body).
    internal long BaselineSeq { get; init; } = -1;

    internal long BaselineVersion { get; init; } = -1;

    [System.Runtime.CompilerServices.InlineArray(PartCount * 2)]
    private struct Layout
    {
        private short start;
    }

    [System.Runtime.CompilerServices.InlineArray(MemoSlots)]
    private struct MemoKeys
    {
        private long key;
    }

    [System.Runtime.CompilerServices.InlineArray(MemoSlots)]
    private struct MemoEntries
    {
        private BodyPair? entry;
    }

    private static short[] BuildOrder()
    {
        var order = new List<short> { Symbol, Seq };
        order.AddRange(QuoteFields.Table.Where(f => !f.AfterTs).Select(f => (short)PartOf(f)));
        order.Add(Ts);
        order.AddRange(QuoteFields.Table.Where(f => f.AfterTs).Select(f => (short)PartOf(f)));
        return [.. order];
    }
}

/// <summary>
/// What is worked out about one body against an earlier one and remembered with the later (<see cref="QuoteBody.Against"/>).
/// It names the earlier body by its <see cref="QuoteBody.Number"/>, never by reference, so a body does not keep the
/// bodies before it alive.
/// </summary>
public abstract class BodyPair(long earlier)
{
    /// <summary>The earlier body's <see cref="QuoteBody.Number"/>.</summary>
    public long Earlier { get; } = earlier;
}
