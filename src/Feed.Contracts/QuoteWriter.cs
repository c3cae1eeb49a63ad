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
}
