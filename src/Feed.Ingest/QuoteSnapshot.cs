using System.Buffers.Text;
using Confluent.Kafka;
using MarketStream.Contracts;

namespace MarketStream.Ingest;

/// <summary>
/// One record of the compacted quotes topic: keyed by symbol, the value a whole tick (the tick encoding, every
/// field the quote holds), and the <c>seq</c> of the last tick it reflects in a header. Written by the publisher,
/// read by every starting gateway before the tick partitions.
/// </summary>
public static class QuoteSnapshot
{
    /// <summary>The header carrying the reflected tick's <c>seq</c> (its offset + 1 in its tick partition), as ASCII digits.</summary>
    public const string SeqHeader = "marketstream-seq";

    public static Message<string, byte[]> ToMessage(Tick whole, long seq)
    {
        ArgumentNullException.ThrowIfNull(whole);
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(seq, digits, out var length);
        return new Message<string, byte[]>
        {
            Key = whole.Symbol,
            Value = TickEncoder.ToUtf8(whole),
            Headers = [new Header(SeqHeader, digits[..length].ToArray())],
        };
    }

    /// <summary>The record's <c>seq</c>; false when the header is missing or not a positive number (not one of ours).</summary>
    public static bool TryReadSeq(Headers? headers, out long seq)
    {
        seq = 0;
        return headers is not null
            && headers.TryGetLastBytes(SeqHeader, out var bytes)
            && Utf8Parser.TryParse(bytes, out seq, out var consumed)
            && consumed == bytes.Length
            && seq > 0;
    }
}
