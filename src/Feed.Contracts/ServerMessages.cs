using System.Text.Json;

namespace MarketStream.Contracts;

/// <summary>The error codes of PROTOCOL.md section 2. An error answers one request and leaves the connection open.</summary>
public static class ErrorCodes
{
    public const string BadRequest = "bad_request";
    public const string InvalidSymbol = "invalid_symbol";
    public const string TooManySymbols = "too_many_symbols";
    public const string Forbidden = "forbidden";
    public const string RateLimited = "rate_limited";
}

/// <summary>The WebSocket close codes of PROTOCOL.md section 2.</summary>
public static class CloseCodes
{
    public const int Normal = 1000;
    public const int GoingAway = 1001;

    /// <summary>A frame that breaks RFC 6455 (unmasked, reserved bits, a bad opcode or close code).</summary>
    public const int ProtocolError = 1002;

    /// <summary>A text frame (or a close reason) that is not valid UTF-8.</summary>
    public const int InvalidPayloadData = 1007;
    public const int PolicyViolation = 1008;
    public const int MessageTooBig = 1009;
    public const int InternalError = 1011;
    public const int TryAgainLater = 1013;
    public const int SlowConsumer = 4001;
    public const int TooManyRequests = 4029;

    /// <summary>Never sent: recorded (metrics, logs) when a connection ended without a close handshake.</summary>
    public const int Abnormal = 1006;
}

/// <summary>
/// Writes the server-to-client messages of PROTOCOL.md section 2, one JSON object each, field names and
/// order as documented. <c>updates</c> frames are written by the session around <see cref="QuoteWriter"/>.
/// </summary>
public static class ServerMessages
{
    public const string Protocol = "marketstream.v1";

    /// <summary>
    /// Writer options for protocol messages: the relaxed encoder leaves quotes and apostrophes in messages
    /// readable (the default escapes them for HTML embedding, which a WebSocket frame never is). Structural
    /// characters and control characters are still escaped.
    /// </summary>
    public static JsonWriterOptions WriterOptions { get; } = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// <c>hello</c>; <paramref name="epoch"/> (the stream <c>seq</c> belongs to, an extension of v1) is left out while
    /// unknown, and <c>delta</c> (the changed-fields extension) appears only when on, so a v1 client sees v1's hello.
    /// </summary>
    public static void Hello(Utf8JsonWriter writer, string sessionId, int throttleMs, DeliveryPolicy policy, int heartbeatMs, long serverTime, string? epoch = null, bool delta = false)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "hello"u8);
        writer.WriteString("protocol"u8, Protocol);
        writer.WriteString("sessionId"u8, sessionId);
        writer.WriteNumber("throttleMs"u8, throttleMs);
        writer.WriteString("policy"u8, policy.Name());
        writer.WriteNumber("heartbeatMs"u8, heartbeatMs);
        writer.WriteNumber("serverTime"u8, serverTime);
        if (epoch is not null)
        {
            writer.WriteString("epoch"u8, epoch);
        }

        if (delta)
        {
            writer.WriteBoolean("delta"u8, true);
        }

        writer.WriteEndObject();
    }

    /// <summary>
    /// <c>status</c> (an extension of v1): <c>{"type":"status","feed":"stale","since":…}</c> when the gateway has received
    /// nothing for a while with Kafka unreachable or behind, <c>{"type":"status","feed":"live"}</c> when ticks flow again.
    /// </summary>
    public static void Status(Utf8JsonWriter writer, bool stale, long? sinceMicros)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "status"u8);
        writer.WriteString("feed"u8, stale ? "stale"u8 : "live"u8);
        if (stale && sinceMicros is { } since)
        {
            writer.WriteNumber("since"u8, since);
        }

        writer.WriteEndObject();
    }

    public static void Subscribed(Utf8JsonWriter writer, RequestId id, IEnumerable<string> symbols) =>
        SymbolsReply(writer, "subscribed"u8, id, symbols);

    public static void Unsubscribed(Utf8JsonWriter writer, RequestId id, IEnumerable<string> symbols) =>
        SymbolsReply(writer, "unsubscribed"u8, id, symbols);

    public static void Snapshot(Utf8JsonWriter writer, IEnumerable<Quote> quotes)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(quotes);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "snapshot"u8);
        writer.WriteStartArray("quotes"u8);
        foreach (var quote in quotes)
        {
            QuoteWriter.Write(writer, quote);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>Opens an <c>updates</c> frame; the caller writes the quotes and then <see cref="EndUpdates"/>.</summary>
    public static void BeginUpdates(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "updates"u8);
        writer.WriteStartArray("quotes"u8);
    }

    public static void EndUpdates(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary><c>configured</c>; <paramref name="delta"/> is written when not null: when deltas are on or the request named them.</summary>
    public static void Configured(Utf8JsonWriter writer, RequestId id, int throttleMs, DeliveryPolicy policy, bool? delta = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "configured"u8);
        id.WriteTo(writer);
        writer.WriteNumber("throttleMs"u8, throttleMs);
        writer.WriteString("policy"u8, policy.Name());
        if (delta is { } d)
        {
            writer.WriteBoolean("delta"u8, d);
        }

        writer.WriteEndObject();
    }

    public static void Pong(Utf8JsonWriter writer, RequestId id, long serverTime)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "pong"u8);
        id.WriteTo(writer);
        writer.WriteNumber("serverTime"u8, serverTime);
        writer.WriteEndObject();
    }

    public static void Heartbeat(Utf8JsonWriter writer, long serverTime)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "heartbeat"u8);
        writer.WriteNumber("serverTime"u8, serverTime);
        writer.WriteEndObject();
    }

    /// <summary>An error answering one request; <paramref name="symbols"/> names the symbols it concerns, if any.</summary>
    public static void Error(Utf8JsonWriter writer, RequestId id, string code, string message, IReadOnlyCollection<string>? symbols = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "error"u8);
        id.WriteTo(writer);
        writer.WriteString("code"u8, code);
        writer.WriteString("message"u8, message);
        if (symbols is { Count: > 0 })
        {
            writer.WriteStartArray("symbols"u8);
            foreach (var symbol in symbols)
            {
                writer.WriteStringValue(symbol);
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    private static void SymbolsReply(Utf8JsonWriter writer, ReadOnlySpan<byte> type, RequestId id, IEnumerable<string> symbols)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(symbols);
        writer.WriteStartObject();
        writer.WriteString("type"u8, type);
        id.WriteTo(writer);
        writer.WriteStartArray("symbols"u8);
        foreach (var symbol in symbols)
        {
            writer.WriteStringValue(symbol);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>Unix epoch microseconds, the protocol's time unit.</summary>
    public static long UnixMicros(DateTimeOffset at) => (at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
}
