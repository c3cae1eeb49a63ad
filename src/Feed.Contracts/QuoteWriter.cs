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
        WriteObject(writer, quote, baseline: null, conflated, dropped);

    /// <summary>
    /// Writes the quote with only the fields whose value differs from <paramref name="baseline"/>, the last quote of
    /// the symbol this client received (the <c>delta</c> extension): symbol, seq and ts always, then each changed
    /// field, then this client's counts. Applying it to the baseline (<see cref="Quote.Apply"/>) gives the quote.
    /// </summary>
    public static void WriteDelta(IBufferWriter<byte> output, Quote quote, Quote baseline, int conflated, int dropped)
    {
        ArgumentNullException.ThrowIfNull(quote);
        WriteSpliced(output, quote.Utf8DeltaBody(baseline).Span, conflated, dropped);
    }

    /// <summary>The delta object without its closing brace, for <see cref="Quote.Utf8DeltaBody"/>.</summary>
    internal static byte[] DeltaBody(Quote quote, Quote baseline)
    {
        var buffer = scratch ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        var writer = scratchWriter ??= new Utf8JsonWriter(buffer, ServerMessages.WriterOptions);
        writer.Reset(buffer);
        WriteObject(writer, quote, baseline, 0, 0);
        writer.Flush();
        return buffer.WrittenSpan[..^1].ToArray();
    }

    private static void WriteObject(Utf8JsonWriter writer, Quote quote, Quote? baseline, int conflated, int dropped)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(quote);
        writer.WriteStartObject();
        writer.WriteString("symbol"u8, quote.Symbol);
        writer.WriteNumber("seq"u8, quote.Seq);
        WriteFields(writer, quote, baseline, afterTs: false);
        writer.WriteNumber("ts"u8, quote.Ts);
        WriteFields(writer, quote, baseline, afterTs: true);
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

    private static void WriteFields(Utf8JsonWriter writer, Quote quote, Quote? baseline, bool afterTs)
    {
        var values = quote.Values;
        foreach (var field in QuoteFields.Table)
        {
            if (field.AfterTs == afterTs && (baseline is null || !quote.SameField(baseline, field.Index)))
            {
                WriteField(writer, field, values[field.Index]);
            }
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
    internal static byte[] Body(Quote quote)
    {
        var buffer = scratch ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        var writer = scratchWriter ??= new Utf8JsonWriter(buffer, ServerMessages.WriterOptions);
        writer.Reset(buffer);
        Write(writer, quote);
        writer.Flush();
        return buffer.WrittenSpan[..^1].ToArray();
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
