using System.Buffers;
using System.Text.Json;

namespace MarketStream.Contracts;

/// <summary>
/// Writes a <see cref="Tick"/> as the record value producers put on Kafka (PROTOCOL.md section 1):
/// only the fields the tick carries. Used by the simulator and by tests that act as producers.
/// </summary>
public static class TickEncoder
{
    public static void Write(Utf8JsonWriter writer, Tick tick)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(tick);
        writer.WriteStartObject();
        writer.WriteString("symbol"u8, tick.Symbol);
        writer.WriteNumber("ts"u8, tick.Ts);
        WriteOptional(writer, "bid"u8, tick.Bid);
        WriteOptional(writer, "ask"u8, tick.Ask);
        WriteOptional(writer, "bidSize"u8, tick.BidSize);
        WriteOptional(writer, "askSize"u8, tick.AskSize);
        WriteOptional(writer, "last"u8, tick.Last);
        WriteOptional(writer, "lastSize"u8, tick.LastSize);
        if (tick.Venue is not null)
        {
            writer.WriteString("venue"u8, tick.Venue);
        }

        writer.WriteEndObject();
    }

    /// <summary>The tick as a new UTF-8 byte array.</summary>
    public static byte[] ToUtf8(Tick tick)
    {
        var buffer = new ArrayBufferWriter<byte>(160);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, tick);
        }

        return buffer.WrittenSpan.ToArray();
    }

    internal static void WriteOptional(Utf8JsonWriter writer, ReadOnlySpan<byte> name, decimal? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, v);
        }
    }

    internal static void WriteOptional(Utf8JsonWriter writer, ReadOnlySpan<byte> name, long? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, v);
        }
    }
}
