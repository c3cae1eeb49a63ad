using System.Buffers;
using System.Text.Json;

namespace MarketStream.Contracts;

/// <summary>
/// Writes a <see cref="Quote"/> as the protocol's quote object (PROTOCOL.md section 2): the known fields in
/// the documented order, prices exactly as they came in (decimal keeps its scale, so <c>189.10</c> stays
/// <c>189.10</c>).
/// </summary>
public static class QuoteWriter
{
    /// <summary>Writes the quote; <paramref name="conflated"/> and <paramref name="dropped"/> appear only when at least 1.</summary>
    public static void Write(Utf8JsonWriter writer, Quote quote, int conflated = 0, int dropped = 0) =>
        WriteObject(writer, quote, baseline: null, conflated, dropped, starts: default);

    /// <summary>
    /// Writes the quote with only the fields whose value differs from <paramref name="baseline"/>, the last quote of
    /// the symbol this client received (the <c>delta</c> extension): symbol, seq and ts always, then each changed
    /// field, then this client's counts. Applying it to the baseline (<see cref="Quote.Apply"/>) gives the quote.
    /// </summary>
    public static void WriteDelta(IBufferWriter<byte> output, Quote quote, Quote baseline, int conflated, int dropped)
    {
        ArgumentNullException.ThrowIfNull(quote);
        WriteSpliced(output, quote.DeltaBody(baseline).Span, conflated, dropped);
    }

    /// <summary>The delta object without its closing brace, for <see cref="Quote.DeltaBody"/>.</summary>
    internal static QuoteBody DeltaBody(Quote quote, Quote baseline)
    {
        Span<short> starts = stackalloc short[QuoteBody.PartCount];
        return new QuoteBody(WriteBody(quote, baseline, starts), starts) { BaselineSeq = baseline.Seq, BaselineVersion = baseline.Version };
    }

    // The object without its closing brace, and where each part's name starts in it.
    private static byte[] WriteBody(Quote quote, Quote? baseline, Span<short> starts)
    {
        var buffer = scratch ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        var writer = scratchWriter ??= new Utf8JsonWriter(buffer, ServerMessages.WriterOptions);
        writer.Reset(buffer);
        WriteObject(writer, quote, baseline, 0, 0, starts);
        writer.Flush();
        return buffer.WrittenSpan[..^1].ToArray();
    }

    private static void WriteObject(Utf8JsonWriter writer, Quote quote, Quote? baseline, int conflated, int dropped, Span<short> starts)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(quote);
        starts.Fill(-1);
        Mark(writer, starts, QuoteBody.Symbol);
        writer.WriteStartObject();
        writer.WriteString("symbol"u8, quote.Symbol);
        Mark(writer, starts, QuoteBody.Seq);
        writer.WriteNumber("seq"u8, quote.Seq);
        WriteFields(writer, quote, baseline, afterTs: false, starts);
        Mark(writer, starts, QuoteBody.Ts);
        writer.WriteNumber("ts"u8, quote.Ts);
        WriteFields(writer, quote, baseline, afterTs: true, starts);
        if (conflated > 0)
        {
            writer.WriteNumber("conflated"u8, conflated);
        }

        if (dropped > 0)
        {
            writer.WriteNumber("dropped"u8, dropped);
        }

        writer.WriteEndObject();
    }

    private static void WriteFields(Utf8JsonWriter writer, Quote quote, Quote? baseline, bool afterTs, Span<short> starts)
    {
        var values = quote.Values;
        foreach (var field in QuoteFields.Table)
        {
            if (field.AfterTs == afterTs && (baseline is null || !quote.SameField(baseline, field.Index)) && values[field.Index].HasValue)
            {
                Mark(writer, starts, QuoteBody.PartOf(field));
                WriteField(writer, field, values[field.Index]);
            }
        }
    }

    // A part's name starts where the writer stands: the separator before it is written with it.
    private static void Mark(Utf8JsonWriter writer, Span<short> starts, int part)
    {
        if (!starts.IsEmpty)
        {
            starts[part] = (short)(writer.BytesCommitted + writer.BytesPending);
        }
    }

    /// <summary>Writes one field as its kind says, if it has a value.</summary>
    internal static void WriteField(Utf8JsonWriter writer, QuoteField field, in FieldValue value)
    {
        if (!value.HasValue)
        {
            return;
        }

        switch (field.Kind)
        {
            case QuoteFieldKind.Price:
                writer.WriteNumber(field.Utf8Name, value.Number);
                break;
            case QuoteFieldKind.Size:
                writer.WriteNumber(field.Utf8Name, (long)value.Number);
                break;
            default:
                writer.WriteString(field.Utf8Name, value.Text);
                break;
        }
    }

    /// <summary>
    /// The quote object without its closing brace, for <see cref="Quote.Utf8Body"/>: written by the same code
    /// as <see cref="Write"/>, then cut, so the two can never disagree on a field.
    /// </summary>
    internal static QuoteBody Body(Quote quote)
    {
        Span<short> starts = stackalloc short[QuoteBody.PartCount];
        return new QuoteBody(WriteBody(quote, baseline: null, starts), starts);
    }

    /// <summary>
    /// Appends one quote of an <c>updates</c> frame: the shared body, then this client's own fields.
    /// </summary>
    public static void WriteSpliced(IBufferWriter<byte> output, Quote quote, int conflated, int dropped)
    {
        ArgumentNullException.ThrowIfNull(quote);
        WriteSpliced(output, quote.Utf8Body.Span, conflated, dropped);
    }

    /// <summary>
    /// Appends one quote of an <c>updates</c> frame from a body already written (<see cref="Quote.Utf8Body"/> or
    /// <see cref="Quote.Utf8DeltaBody"/>), then this client's own fields.
    /// </summary>
    public static void WriteSpliced(IBufferWriter<byte> output, ReadOnlySpan<byte> body, int conflated, int dropped)
    {
        ArgumentNullException.ThrowIfNull(output);
        var span = output.GetSpan(body.Length + 40);
        body.CopyTo(span);
        var n = body.Length;
        if (conflated > 0)
        {
            n += AppendCount(span[n..], ",\"conflated\":"u8, conflated);
        }

        if (dropped > 0)
        {
            n += AppendCount(span[n..], ",\"dropped\":"u8, dropped);
        }

        span[n++] = (byte)'}';
        output.Advance(n);
    }

    private static int AppendCount(Span<byte> span, ReadOnlySpan<byte> name, int value)
    {
        name.CopyTo(span);
        System.Buffers.Text.Utf8Formatter.TryFormat(value, span[name.Length..], out var written);
        return name.Length + written;
    }

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? scratch;

    [ThreadStatic]
    private static Utf8JsonWriter? scratchWriter;
}
