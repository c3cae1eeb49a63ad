using System.Buffers;
using System.Text.Json;
using MarketStream.Contracts;

namespace MarketStream.Client;

/// <summary>Writes the client-to-server requests of PROTOCOL.md section 2 as UTF-8 JSON, one object each.</summary>
internal static class RequestWriter
{
    public static byte[] Subscribe(long id, IEnumerable<string> symbols) => SymbolsRequest("subscribe"u8, id, symbols);

    public static byte[] Unsubscribe(long id, IEnumerable<string> symbols) => SymbolsRequest("unsubscribe"u8, id, symbols);

    public static byte[] Configure(long id, int? throttleMs, DeliveryPolicy? policy) => Write(w =>
    {
        w.WriteString("op"u8, "configure"u8);
        w.WriteNumber("id"u8, id);
        if (throttleMs is { } t)
        {
            w.WriteNumber("throttleMs"u8, t);
        }

        if (policy is { } p)
        {
            w.WriteString("policy"u8, p.Name());
        }
    });

    private static byte[] SymbolsRequest(ReadOnlySpan<byte> op, long id, IEnumerable<string> symbols)
    {
        var opName = op.ToArray();
        return Write(w =>
        {
            w.WriteString("op"u8, opName);
            w.WriteNumber("id"u8, id);
            w.WriteStartArray("symbols"u8);
            foreach (var symbol in symbols)
            {
                w.WriteStringValue(symbol);
            }

            w.WriteEndArray();
        });
    }

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
