using System.Buffers;
using System.Text;
using System.Text.Json;
using MarketStream.Contracts;

namespace MarketStream.Contracts.Tests;

internal static class ProtocolJson
{
    public static string QuoteToString(Quote quote, int conflated = 0, int dropped = 0)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            QuoteWriter.Write(writer, quote, conflated, dropped);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
