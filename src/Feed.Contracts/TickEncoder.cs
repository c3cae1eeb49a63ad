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
        var values = tick.Values;
        foreach (var field in QuoteFields.Table)
        {
            QuoteWriter.WriteField(writer, field, values[field.Index]);
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
}
