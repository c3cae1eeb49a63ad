using System.Text.Json;
using MarketStream.Contracts;

namespace MarketStream.Client;

/// <summary>
/// Reads one server message (one JSON object) with <see cref="Utf8JsonReader"/>, in any property order.
/// Unknown properties and types are skipped, as PROTOCOL.md lets servers add them. Prices are read as
/// <see cref="decimal"/> straight from the UTF-8 text, so <c>189.12</c> never passes through a double.
/// </summary>
internal static class ServerMessageParser
{
    /// <exception cref="JsonException">The payload is not a JSON object of the expected shape.</exception>
    public static ServerMessage Parse(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 16 });
        Read(ref reader);
        Expect(ref reader, JsonTokenType.StartObject);
        var message = new ServerMessage();
        while (Read(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                Read(ref reader);
                message.Type = ParseType(ref reader);
            }
            else if (reader.ValueTextEquals("id"u8))
            {
                Read(ref reader);
                message.Id = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var id) ? id : null;
            }
            else if (reader.ValueTextEquals("symbols"u8))
            {
                message.Symbols = ReadStrings(ref reader);
            }
            else if (reader.ValueTextEquals("quotes"u8))
            {
                message.Quotes = ReadQuotes(ref reader);
            }
            else if (reader.ValueTextEquals("code"u8))
            {
                message.Code = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("message"u8))
            {
                message.Message = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("sessionId"u8))
            {
                message.SessionId = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("epoch"u8))
            {
                message.Epoch = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("feed"u8))
            {
                message.Feed = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("since"u8))
            {
                message.Since = ReadInt64(ref reader);
            }
            else if (reader.ValueTextEquals("policy"u8))
            {
                message.Policy = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("throttleMs"u8))
            {
                message.ThrottleMs = ReadInt32(ref reader);
            }
            else if (reader.ValueTextEquals("heartbeatMs"u8))
            {
                message.HeartbeatMs = ReadInt32(ref reader);
            }
            else if (reader.ValueTextEquals("serverTime"u8))
            {
                Read(ref reader);
                message.ServerTime = reader.GetInt64();
            }
            else
            {
                Read(ref reader);
                reader.Skip();
            }
        }

        return message;
    }

    private static ServerMessageType ParseType(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.String);
        if (reader.ValueTextEquals("updates"u8)) { return ServerMessageType.Updates; }
        if (reader.ValueTextEquals("heartbeat"u8)) { return ServerMessageType.Heartbeat; }
        if (reader.ValueTextEquals("snapshot"u8)) { return ServerMessageType.Snapshot; }
        if (reader.ValueTextEquals("subscribed"u8)) { return ServerMessageType.Subscribed; }
        if (reader.ValueTextEquals("unsubscribed"u8)) { return ServerMessageType.Unsubscribed; }
        if (reader.ValueTextEquals("configured"u8)) { return ServerMessageType.Configured; }
        if (reader.ValueTextEquals("error"u8)) { return ServerMessageType.Error; }
        if (reader.ValueTextEquals("hello"u8)) { return ServerMessageType.Hello; }
        if (reader.ValueTextEquals("pong"u8)) { return ServerMessageType.Pong; }
        if (reader.ValueTextEquals("status"u8)) { return ServerMessageType.Status; }
        return ServerMessageType.Unknown;
    }

    private static List<QuoteUpdate> ReadQuotes(ref Utf8JsonReader reader)
    {
        Read(ref reader);
        Expect(ref reader, JsonTokenType.StartArray);
        var quotes = new List<QuoteUpdate>();
        while (Read(ref reader) != JsonTokenType.EndArray)
        {
            quotes.Add(ReadQuote(ref reader));
        }

        return quotes;
    }

    private static QuoteUpdate ReadQuote(ref Utf8JsonReader reader)
    {
        var quote = QuoteReader.Read(ref reader, out var conflated, out var dropped);
        return new QuoteUpdate(quote, conflated, dropped, IsSnapshot: false);
    }

    private static List<string> ReadStrings(ref Utf8JsonReader reader)
    {
        Read(ref reader);
        Expect(ref reader, JsonTokenType.StartArray);
        var list = new List<string>();
        while (Read(ref reader) != JsonTokenType.EndArray)
        {
            Expect(ref reader, JsonTokenType.String);
            list.Add(reader.GetString()!);
        }

        return list;
    }

    private static string ReadString(ref Utf8JsonReader reader)
    {
        Read(ref reader);
        Expect(ref reader, JsonTokenType.String);
        return reader.GetString()!;
    }

    private static long ReadInt64(ref Utf8JsonReader reader)
    {
        Read(ref reader);
        Expect(ref reader, JsonTokenType.Number);
        return reader.GetInt64();
    }

    private static int ReadInt32(ref Utf8JsonReader reader)
    {
        Read(ref reader);
        Expect(ref reader, JsonTokenType.Number);
        return reader.GetInt32();
    }

    private static JsonTokenType Read(ref Utf8JsonReader reader) =>
        reader.Read() ? reader.TokenType : throw new JsonException("the message ends early");

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (reader.TokenType != type)
        {
            throw new JsonException($"expected {type}, found {reader.TokenType}");
        }
    }
}
