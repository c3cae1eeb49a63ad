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
    public static void Write(Utf8JsonWriter writer, Quote quote, int conflated = 0, int dropped = 0)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(quote);
        writer.WriteStartObject();
        writer.WriteString("symbol"u8, quote.Symbol);
        writer.WriteNumber("seq"u8, quote.Seq);
        TickEncoder.WriteOptional(writer, "bid"u8, quote.Bid);
        TickEncoder.WriteOptional(writer, "ask"u8, quote.Ask);
        TickEncoder.WriteOptional(writer, "bidSize"u8, quote.BidSize);
        TickEncoder.WriteOptional(writer, "askSize"u8, quote.AskSize);
        TickEncoder.WriteOptional(writer, "last"u8, quote.Last);
        TickEncoder.WriteOptional(writer, "lastSize"u8, quote.LastSize);
        writer.WriteNumber("ts"u8, quote.Ts);
        if (quote.Venue is not null)
        {
            writer.WriteString("venue"u8, quote.Venue);
        }

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
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(quote);
        var body = quote.Utf8Body;
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
