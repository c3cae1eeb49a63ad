using System.IO.Compression;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using MarketStream.Contracts;
using MarketStream.Gateway.Streaming;

namespace MarketStream.Gateway.Tests;

/// <summary>
/// Bytes on the wire: permessage-deflate (RFC 7692) negotiated with real clients and checked frame by frame, and
/// the <c>delta</c> extension end to end through the embedded broker, against a v1 client beside it.
/// </summary>
public class BandwidthTests
{
    private const int Text = 0x1;
    private const int Close = 0x8;
    private const int Rsv1 = 0x4;
    private const string Offer = "Sec-WebSocket-Protocol: marketstream.v1\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";

    [Theory]
    [InlineData("permessage-deflate", "permessage-deflate; client_no_context_takeover")]
    [InlineData("permessage-deflate; client_max_window_bits", "permessage-deflate; client_no_context_takeover")]
    [InlineData("permessage-deflate; client_max_window_bits=10; server_max_window_bits=15", "permessage-deflate; client_no_context_takeover")]
    [InlineData("permessage-deflate; server_no_context_takeover", "permessage-deflate; server_no_context_takeover; client_no_context_takeover")]
    [InlineData("permessage-deflate; Server_No_Context_Takeover; client_no_context_takeover", "permessage-deflate; server_no_context_takeover; client_no_context_takeover")]
    [InlineData("x-webkit-deflate-frame, permessage-deflate", "permessage-deflate; client_no_context_takeover")]
    [InlineData("permessage-deflate; server_max_window_bits=10, permessage-deflate", "permessage-deflate; client_no_context_takeover")]
    [InlineData("permessage-deflate; server_max_window_bits=10", null)]
    [InlineData("permessage-deflate; client_max_window_bits=16", null)]
    [InlineData("permessage-deflate; server_no_context_takeover; server_no_context_takeover", null)]
    [InlineData("permessage-deflate; unknown_parameter", null)]
    [InlineData("x-webkit-deflate-frame", null)]
    public void Negotiation_accepts_the_first_offer_it_can_honour(string offered, string? answer)
    {
        Assert.Equal(answer, PerMessageDeflate.Negotiate(offered)?.Response);

        // With the server's context turned off by configuration, every agreement says so.
        Assert.Equal(answer is null ? null : PerMessageDeflate.NoContextResponse, PerMessageDeflate.Negotiate(offered, keepContext: false)?.Response);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(6)]
    [InlineData(9)]
    public void Both_compressors_write_messages_that_inflate_alone_to_the_message(int level)
    {
        var message = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 60).Select(i => $"{{\"symbol\":\"S{i % 7}\",\"seq\":{1000 + i},\"bid\":{100 + i}.25}},")));
        var native = MessageCompressor.Compress(message, 10, level, out var end);
        Assert.Equal(message, InflateAlone(native[10..end]));
        Assert.True(end - 10 < message.Length / 3, $"{end - 10} bytes for {message.Length}");

        // The fallback where the runtime's zlib entry points are missing: the same format.
        var managed = new byte[message.Length + 100];
        var length = MessageCompressor.Managed(message, managed, 10, level);
        Assert.Equal(message, InflateAlone(managed[10..(10 + length)]));
        System.Buffers.ArrayPool<byte>.Shared.Return(native);
    }

    [Fact]
    public async Task A_real_ClientWebSocket_negotiates_deflate_by_its_defaults_and_reads_every_message()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Symbols", "AAPL,MSFT"), ("Feed:Simulator:TicksPerSecond", 400));
        await using var client = await ProtocolClient.ConnectAsync(gateway.Address, "throttleMs=20", configure: o =>
        {
            o.DangerousDeflateOptions = new WebSocketDeflateOptions();
            o.CollectHttpResponseDetails = true;
        });
        Assert.Equal(PerMessageDeflate.ContextResponse, client.Socket is ClientWebSocket s ? s.HttpResponseHeaders?["Sec-WebSocket-Extensions"].Single() : null);
        await client.ReceiveUntilAsync("hello");

        // The client compresses its own messages now: the gateway inflates them.
        await client.SendAsync("""{"op":"subscribe","id":1,"symbols":["AAPL","MSFT"]}""");
        await client.ReceiveUntilAsync("subscribed");
        var quotes = 0;
        while (quotes < 40)
        {
            var (updates, _) = await client.ReceiveUntilAsync("updates");
            quotes += updates.Quotes().Count();
        }

        await client.SendAsync("""{"op":"ping","id":2}""");
        await client.ReceiveUntilAsync("pong");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Compressed_frames_carry_RSV1_and_inflate_to_the_protocol_messages(bool serverContext)
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Symbols", "AAPL,MSFT,EURUSD"), ("Feed:Simulator:TicksPerSecond", 600));
        var offer = serverContext ? Offer : Offer.Replace("client_max_window_bits", "server_no_context_takeover", StringComparison.Ordinal);
        await using var client = await RawWebSocket.ConnectAsync(gateway.Address, extraHeaders: offer);
        var answer = serverContext ? PerMessageDeflate.ContextResponse : PerMessageDeflate.NoContextResponse;
        Assert.Contains($"Sec-WebSocket-Extensions: {answer}\r\n", client.ResponseHead, StringComparison.OrdinalIgnoreCase);

        // A compressed request (RSV1 on its only frame) is inflated and answered.
        await client.SendFrameAsync(Text, Deflate("""{"op":"subscribe","id":1,"symbols":["AAPL","MSFT","EURUSD"]}"""), reserved: Rsv1);

        // One inflater over the whole stream reads every message, as a client keeps its window; under
        // server_no_context_takeover every message inflates on its own too.
        using var inflater = new StreamInflater();
        var types = new List<string>();
        long wire = 0, inflated = 0;
        while (types.Count(t => t == "updates") < 10)
        {
            var frame = await client.ReadFrameAsync();
            Assert.True(frame.Fin);
            Assert.Equal(Text, frame.Opcode);
            var compressed = frame.Reserved == Rsv1;
            var payload = compressed ? inflater.Inflate(frame.Payload) : frame.Payload;
            if (compressed && !serverContext)
            {
                Assert.Equal(payload, InflateAlone(frame.Payload));
            }

            Assert.True(compressed || payload.Length < WebSocketConnection.MinCompressBytes, $"a {payload.Length}-byte message went out uncompressed");
            var message = JsonDocument.Parse(payload).RootElement;
            types.Add(message.GetProperty("type").GetString()!);
            if (compressed)
            {
                wire += frame.Payload.Length;
                inflated += payload.Length;
            }
        }

        Assert.Equal(["hello", "subscribed", "snapshot"], types.Take(3));
        // Frames of one to three quotes: compressed alone, a modest gain but a real one; each quote written against
        // the last of its symbol, far more.
        Assert.True(serverContext ? wire * 2 < inflated : wire * 4 < inflated * 3, $"{wire} bytes on the wire for {inflated} bytes of messages");
    }

    [Fact]
    public async Task With_the_context_turned_off_every_message_inflates_on_its_own()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Symbols", "AAPL,MSFT"), ("Feed:Simulator:TicksPerSecond", 600), ("Feed:Gateway:CompressionContext", false));
        await using var client = await RawWebSocket.ConnectAsync(gateway.Address, extraHeaders: Offer);
        Assert.Contains($"Sec-WebSocket-Extensions: {PerMessageDeflate.NoContextResponse}\r\n", client.ResponseHead, StringComparison.OrdinalIgnoreCase);
        await client.SendTextAsync("""{"op":"subscribe","id":1,"symbols":["AAPL","MSFT"]}""");
        var updates = 0;
        while (updates < 5)
        {
            var frame = await client.ReadFrameAsync();
            if (frame.Reserved == Rsv1)
            {
                var message = JsonDocument.Parse(InflateAlone(frame.Payload)).RootElement;
                updates += message.GetProperty("type").GetString() == "updates" ? 1 : 0;
            }
        }
    }

    [Fact]
    public async Task A_client_that_offers_no_extension_gets_uncompressed_frames()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Symbols", "AAPL"), ("Feed:Simulator:TicksPerSecond", 400));
        await using var client = await RawWebSocket.ConnectAsync(gateway.Address);
        Assert.DoesNotContain("Sec-WebSocket-Extensions", client.ResponseHead, StringComparison.OrdinalIgnoreCase);
        await client.SendTextAsync("""{"op":"subscribe","id":1,"symbols":["AAPL"]}""");
        for (var i = 0; i < 8; i++)
        {
            var frame = await client.ReadFrameAsync();
            Assert.Equal(0, frame.Reserved);
            Assert.Equal(Text, frame.Opcode);
            JsonDocument.Parse(frame.Payload).Dispose();
        }
    }

    [Fact]
    public async Task A_v1_client_that_asks_for_nothing_gets_hello_and_whole_quotes_written_exactly_as_v1_writes_them()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Symbols", "AAPL,MSFT"), ("Feed:Simulator:TicksPerSecond", 400));
        await using var client = await RawWebSocket.ConnectAsync(gateway.Address);
        var hello = await client.ReadFrameAsync();
        Assert.DoesNotContain("delta", hello.Text, StringComparison.Ordinal);
        await client.SendTextAsync("""{"op":"subscribe","id":1,"symbols":["AAPL","MSFT"]}""");
        var updates = 0;
        while (updates < 10)
        {
            var frame = await client.ReadFrameAsync();
            Assert.Equal(0, frame.Reserved);
            if (!frame.Text.StartsWith("""{"type":"updates","quotes":[""", StringComparison.Ordinal))
            {
                continue;
            }

            // Every quote, read back and written again by the v1 writer (every field, v1's order), is the same bytes.
            var expected = new StringBuilder("""{"type":"updates","quotes":[""");
            var reader = new Utf8JsonReader(frame.Payload);
            for (var token = 0; token < 5; token++)
            {
                // {, "type", "updates", "quotes", [
                reader.Read();
            }

            var first = true;
            while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            {
                var quote = QuoteReader.Read(ref reader, out var conflated, out var dropped);
                expected.Append(first ? string.Empty : ",").Append(V1(quote, conflated, dropped));
                first = false;
            }

            Assert.Equal(expected.Append("]}").ToString(), frame.Text);
            updates++;
        }
    }

    [Fact]
    public async Task Compression_turned_off_is_never_negotiated_and_RSV1_from_the_client_is_then_a_protocol_error()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false), ("Feed:Gateway:Compression", false));
        await using var client = await RawWebSocket.ConnectAsync(gateway.Address, extraHeaders: Offer);
        Assert.DoesNotContain("Sec-WebSocket-Extensions", client.ResponseHead, StringComparison.OrdinalIgnoreCase);
        await client.SendFrameAsync(Text, Deflate("""{"op":"ping","id":1}"""), reserved: Rsv1);
        Assert.Equal(CloseCodes.ProtocolError, (await client.ReadUntilAsync(Close)).CloseCode);
    }

    [Fact]
    public async Task A_compressed_message_that_is_not_deflate_data_closes_with_1007_and_a_bomb_with_1009()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false), ("Feed:Gateway:MaxFrameBytes", 4096));
        await using (var client = await RawWebSocket.ConnectAsync(gateway.Address, extraHeaders: Offer))
        {
            // BTYPE 11 is reserved in RFC 1951: no inflater accepts it.
            await client.SendFrameAsync(Text, new byte[] { 0xFF, 0xFF, 0xFF, 0xFF }, reserved: Rsv1);
            Assert.Equal(CloseCodes.InvalidPayloadData, (await client.ReadUntilAsync(Close)).CloseCode);
        }

        await using (var client = await RawWebSocket.ConnectAsync(gateway.Address, extraHeaders: Offer))
        {
            // 1 MiB of spaces compress to about a kilobyte: far under the frame limit on the wire, far over it inflated.
            var bomb = Deflate("{\"op\":\"ping\"" + new string(' ', 1 << 20) + "}");
            Assert.True(bomb.Length < 4096);
            await client.SendFrameAsync(Text, bomb, reserved: Rsv1);
            Assert.Equal(CloseCodes.MessageTooBig, (await client.ReadUntilAsync(Close)).CloseCode);
        }
    }

    [Fact]
    public async Task Delta_quotes_rebuild_the_state_of_the_quote_API_to_the_last_digit_while_a_v1_client_beside_sees_whole_quotes()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false));
        using var producer = new TickProducer(gateway);
        await using var delta = await ProtocolClient.ConnectAsync(gateway.Address, "throttleMs=0&delta=true", configure: o => o.DangerousDeflateOptions = new WebSocketDeflateOptions());
        await using var plain = await ProtocolClient.ConnectAsync(gateway.Address, "throttleMs=0");
        var (hello, _) = await delta.ReceiveUntilAsync("hello");
        Assert.True(hello.GetProperty("delta").GetBoolean());
        var (plainHello, _) = await plain.ReceiveUntilAsync("hello");
        Assert.False(plainHello.TryGetProperty("delta", out _));

        // A first tick, so the snapshot has a state to start from.
        producer.Produce(new Tick { Symbol = "DLT", Ts = TickProducer.Now, Bid = 10.10m });
        producer.Flush();
        await Eventually.Holds(() => Task.FromResult(gateway.State.TryGet("DLT", out _)), "the first tick to be merged");
        foreach (var client in new[] { delta, plain })
        {
            await client.SendAsync("""{"op":"subscribe","id":1,"symbols":["DLT"]}""");
        }

        // Fields going from absent to present, prices changing only in scale (10.1 after 10.10), fields unchanged.
        Tick[] ticks =
        [
            new() { Symbol = "DLT", Ts = TickProducer.Now, Bid = 10.1m },
            new() { Symbol = "DLT", Ts = TickProducer.Now, Ask = 10.20m, AskSize = 300 },
            new() { Symbol = "DLT", Ts = TickProducer.Now, Venue = "XNAS", Last = 10.15m, LastSize = 5 },
            new() { Symbol = "DLT", Ts = TickProducer.Now, Bid = 10.1m, BidSize = 100 },
            new() { Symbol = "DLT", Ts = TickProducer.Now, Last = 10.150m, Venue = "XNAS" },
            new() { Symbol = "DLT", Ts = TickProducer.Now, Ask = 10.19m },
        ];
        foreach (var tick in ticks)
        {
            producer.Produce(tick);
            producer.Flush();
            await Task.Delay(30);
        }

        var api = JsonDocument.Parse(await gateway.Http.GetStringAsync("/api/quotes/DLT")).RootElement;
        var lastSeq = api.GetProperty("seq").GetInt64();
        var held = await FollowAsync(delta, lastSeq, applyDeltas: true);
        var whole = await FollowAsync(plain, lastSeq, applyDeltas: false);
        var expected = Fields(api);
        Assert.Equal(expected, held.Fields);
        Assert.Equal(expected, whole.Fields);
        Assert.True(held.AnyPartial, "no quote of the delta client left a field out");
        Assert.False(whole.AnyPartial, "the v1 client received a quote without every field the state had");
    }

    [Fact]
    public async Task Configure_turns_deltas_on_and_off_and_configured_echoes_it()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false));
        await using var client = await ProtocolClient.ConnectAsync(gateway.Address);
        await client.ReceiveUntilAsync("hello");
        await client.SendAsync("""{"op":"configure","id":1,"throttleMs":50}""");
        var (configured, _) = await client.ReceiveUntilAsync("configured");
        Assert.False(configured.TryGetProperty("delta", out _));
        await client.SendAsync("""{"op":"configure","id":2,"delta":true}""");
        Assert.True((await client.ReceiveUntilAsync("configured")).Message.GetProperty("delta").GetBoolean());
        await client.SendAsync("""{"op":"configure","id":3,"throttleMs":60}""");
        Assert.True((await client.ReceiveUntilAsync("configured")).Message.GetProperty("delta").GetBoolean());
        await client.SendAsync("""{"op":"configure","id":4,"delta":false}""");
        Assert.False((await client.ReceiveUntilAsync("configured")).Message.GetProperty("delta").GetBoolean());
        await client.SendAsync("""{"op":"configure","id":5,"delta":"yes"}""");
        Assert.Equal("bad_request", (await client.ReceiveUntilAsync("error")).Message.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_delta_value_other_than_true_or_false_is_refused_at_connect()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false));
        using var response = await gateway.Http.GetAsync("/sse?symbols=AAPL&delta=maybe");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("delta must be true or false", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static string V1(Quote quote, int conflated, int dropped)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, ServerMessages.WriterOptions))
        {
            QuoteWriter.Write(writer, quote, conflated, dropped);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Reads the client's quotes of DLT until <paramref name="lastSeq"/>; the fields held at the end (raw JSON text) and whether any quote left one out.</summary>
    private static async Task<(SortedDictionary<string, string> Fields, bool AnyPartial)> FollowAsync(ProtocolClient client, long lastSeq, bool applyDeltas)
    {
        var held = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var anyPartial = false;
        var seq = 0L;
        while (seq < lastSeq)
        {
            var message = (await client.ReceiveAsync())!.Value;
            if (message.Type() is not ("snapshot" or "updates"))
            {
                continue;
            }

            foreach (var quote in message.Quotes())
            {
                var fields = Fields(quote);
                anyPartial |= held.Keys.Any(k => !fields.ContainsKey(k));
                if (message.Type() == "snapshot" || !applyDeltas)
                {
                    held.Clear();
                }

                foreach (var (name, text) in fields)
                {
                    held[name] = text;
                }

                seq = quote.GetProperty("seq").GetInt64();
            }
        }

        return (held, anyPartial);
    }

    /// <summary>A quote's fields as their JSON text (so 10.10 and 10.1 differ), without this client's counts.</summary>
    private static SortedDictionary<string, string> Fields(JsonElement quote) =>
        new(quote.EnumerateObject().Where(p => p.Name is not ("conflated" or "dropped")).ToDictionary(p => p.Name, p => p.Value.GetRawText()), StringComparer.Ordinal);

    private static byte[] InflateAlone(byte[] payload)
    {
        using var inflater = new DeflateStream(new MemoryStream([.. payload, 0, 0, 0xFF, 0xFF]), CompressionMode.Decompress);
        var output = new MemoryStream();
        inflater.CopyTo(output);
        return output.ToArray();
    }

    /// <summary>A message as a client compresses it: raw deflate, sync-flushed, the 00 00 FF FF tail removed.</summary>
    private static byte[] Deflate(string text)
    {
        var output = new MemoryStream();
        using (var deflate = new DeflateStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            deflate.Write(Encoding.UTF8.GetBytes(text));
            deflate.Flush();
        }

        // Disposing added a final empty block after the flush: cut back to the flush's tail.
        var bytes = output.ToArray();
        var tail = bytes.AsSpan().LastIndexOf((ReadOnlySpan<byte>)[0, 0, 0xFF, 0xFF]);
        return bytes[..tail];
    }
}
