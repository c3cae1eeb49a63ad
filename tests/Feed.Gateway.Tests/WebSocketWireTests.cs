using System.Text;
using System.Text.Json;
using MarketStream.Contracts;
using MarketStream.Gateway.Streaming;

namespace MarketStream.Gateway.Tests;

/// <summary>
/// The gateway's WebSocket layer (RFC 6455) against a client written byte by byte: the handshake, frames a
/// library would never send, fragments, control frames, the close handshake and how the TCP connection ends.
/// </summary>
public class WebSocketWireTests
{
    private const int Text = 0x1;
    private const int Close = 0x8;
    private const int Ping = 0x9;
    private const int Pong = 0xA;

    [Fact]
    public void The_accept_key_is_the_one_of_RFC_6455s_example()
    {
        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", WebSocketHandshake.AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="));
    }

    [Theory]
    [InlineData(0, 2)]
    [InlineData(125, 2)]
    [InlineData(126, 4)]
    [InlineData(65_535, 4)]
    [InlineData(65_536, 10)]
    public void Server_frame_headers_take_the_shortest_length_form(int length, int headerSize)
    {
        Assert.Equal(headerSize, WebSocketConnection.HeaderSize(length));
        var header = new byte[10];
        WebSocketConnection.WriteHeader(header, 0x1, length);
        Assert.Equal(0x81, header[0]);
        var decoded = header[1] switch
        {
            126 => (header[2] << 8) | header[3],
            127 => (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(2)),
            var l => l,
        };
        Assert.Equal(length, decoded);
    }

    [Fact]
    public async Task The_handshake_answers_101_with_the_accept_key_and_the_subprotocol_then_hello()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false));
        await using var client = await RawWebSocket.ConnectAsync(gateway.Address);
        Assert.StartsWith("HTTP/1.1 101", client.ResponseHead, StringComparison.Ordinal);
        Assert.Contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", client.ResponseHead, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Sec-WebSocket-Protocol: marketstream.v1\r\n", client.ResponseHead, StringComparison.OrdinalIgnoreCase);
        var hello = await client.ReadFrameAsync();
        Assert.Equal(Text, hello.Opcode);
        Assert.True(hello.Fin);
        Assert.Equal("hello", JsonDocument.Parse(hello.Payload).RootElement.GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("short")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public async Task An_upgrade_with_a_malformed_key_is_refused(string key)
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false));
        await using var client = await RawWebSocket.ConnectAsync(gateway.Address, key: key);
        Assert.StartsWith("HTTP/1.1 426", client.ResponseHead, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_UTF8_closes_with_1007_and_the_connection_ends_cleanly_every_time()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false));
        for (var attempt = 0; attempt < 40; attempt++)
        {
            await using var client = await ConnectAsync(gateway);
            await client.SendFrameAsync(Text, new byte[] { (byte)'{', 0xFF, 0xFE, (byte)'}' });
            var close = await client.ReadUntilAsync(Close);
            Assert.Equal(CloseCodes.InvalidPayloadData, close.CloseCode);
            await client.SendCloseAsync(close.CloseCode);
            Assert.True(await client.EndsCleanlyAsync(), $"attempt {attempt}: the connection was reset after the close handshake");
        }
    }

    public static TheoryData<string, int, byte[], bool, bool, int> BrokenFrames => new()
    {
        { "unmasked", Text, "{}"u8.ToArray(), true, false, 0 },
        { "reserved bits", Text, "{}"u8.ToArray(), true, true, 0b100 },
        { "unknown opcode", 0x3, "{}"u8.ToArray(), true, true, 0 },
        { "fragmented ping", Ping, "a"u8.ToArray(), false, true, 0 },
        { "control frame over 125 bytes", Ping, new byte[126], true, true, 0 },
        { "continuation without a message", 0x0, "{}"u8.ToArray(), true, true, 0 },
        { "close code 999", Close, [0x03, 0xE7], true, true, 0 },
        { "close code 1005 on the wire", Close, [0x03, 0xED], true, true, 0 },
        { "close body of one byte", Close, [0x03], true, true, 0 },
    };

    [Theory]
    [MemberData(nameof(BrokenFrames))]
    public async Task A_frame_that_breaks_the_RFC_closes_with_1002(string what, int opcode, byte[] payload, bool fin, bool masked, int reserved)
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false));
        await using var client = await ConnectAsync(gateway);
        await client.SendFrameAsync(opcode, payload, fin, masked, reserved);
        var close = await client.ReadUntilAsync(Close);
        Assert.True(close.CloseCode == CloseCodes.ProtocolError, $"{what}: closed with {close.CloseCode} ({close.Text})");
    }

    [Fact]
    public async Task A_message_in_fragments_with_a_ping_between_them_is_one_request_and_the_ping_gets_its_pong()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false));
        await using var client = await ConnectAsync(gateway);
        await client.SendFrameAsync(Text, "{\"op\":\"pi"u8.ToArray(), fin: false);
        await client.SendFrameAsync(Ping, "probe"u8.ToArray());
        await client.SendFrameAsync(0x0, "ng\",\"id\""u8.ToArray(), fin: false);
        await client.SendFrameAsync(0x0, ":7}"u8.ToArray(), fin: true);

        // Both come, in either order: the WebSocket pong and the protocol's reply to the reassembled request.
        byte[]? pong = null;
        JsonElement? reply = null;
        while (pong is null || reply is null)
        {
            var frame = await client.ReadFrameAsync();
            if (frame.Opcode == Pong)
            {
                pong = frame.Payload;
            }
            else if (frame.Opcode == Text && JsonDocument.Parse(frame.Payload).RootElement is { } message && message.GetProperty("type").GetString() == "pong")
            {
                reply = message;
            }
        }

        Assert.Equal("probe", Encoding.UTF8.GetString(pong));
        Assert.Equal(7, reply.Value.GetProperty("id").GetInt32());
    }

    [Fact]
    public async Task A_close_without_a_code_gets_an_empty_close_back_and_the_connection_ends_cleanly()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false));
        await using var client = await ConnectAsync(gateway);
        await client.SendCloseAsync(null);
        var close = await client.ReadUntilAsync(Close);
        Assert.Empty(close.Payload);
        Assert.True(await client.EndsCleanlyAsync());
        await WaitForNoSessionsAsync(gateway);
    }

    [Fact]
    public async Task A_client_close_code_and_reason_are_answered_with_the_same_code()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false));
        await using var client = await ConnectAsync(gateway);
        await client.SendCloseAsync(4100, "bye, ünïcode");
        var close = await client.ReadUntilAsync(Close);
        Assert.Equal(4100, close.CloseCode);
        Assert.True(await client.EndsCleanlyAsync());
    }

    [Fact]
    public async Task A_close_reason_that_is_not_UTF8_closes_with_1007()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false));
        await using var client = await ConnectAsync(gateway);
        await client.SendFrameAsync(Close, new byte[] { 0x03, 0xE8, 0xC3, 0x28 });
        Assert.Equal(CloseCodes.InvalidPayloadData, (await client.ReadUntilAsync(Close)).CloseCode);
    }

    [Fact]
    public async Task The_server_pings_and_a_peer_that_answers_stays_connected_past_the_pong_timeout()
    {
        // Three times the pong timeout, answering every ping. The timeout leaves a loaded CI machine a second to
        // schedule the test's answer (300 ms once cut a connection whose pong was merely late).
        await using var gateway = await GatewayHost.StartAsync(
            ("Feed:Simulator:Enabled", false), ("Feed:Gateway:KeepAliveIntervalMs", 250), ("Feed:Gateway:KeepAliveTimeoutMs", 1000),
            ("Feed:Gateway:HeartbeatMs", 60000));
        await using var client = await ConnectAsync(gateway);
        var until = DateTime.UtcNow.AddSeconds(3);
        var pings = 0;
        while (DateTime.UtcNow < until)
        {
            var ping = await client.ReadUntilAsync(Ping);
            pings++;
            await client.SendFrameAsync(Pong, ping.Payload);
        }

        Assert.InRange(pings, 3, 20);
        await client.SendTextAsync("""{"op":"ping","id":1}""");
        Assert.Equal(1, (await ReadMessageAsync(client, "pong")).GetProperty("id").GetInt32());
    }

    [Fact]
    public async Task A_peer_that_reads_nothing_is_cut_off_after_the_keep_alive_interval_and_timeout()
    {
        // Small buffers on both sides, a busy symbol at throttle 0: the gateway's sends block within moments.
        await using var gateway = await GatewayHost.StartWithSmallSendBuffersAsync(
            ("Feed:Simulator:Symbols", "S01,S02,S03,S04"), ("Feed:Simulator:TicksPerSecond", 2000),
            ("Feed:Gateway:KeepAliveIntervalMs", 2000), ("Feed:Gateway:KeepAliveTimeoutMs", 500));
        var connectedAt = DateTime.UtcNow;
        await using var client = await RawWebSocket.ConnectAsync(gateway.Address, path: "/ws?throttleMs=0", receiveBuffer: 4096);
        await client.ReadUntilAsync(Text);
        await client.SendTextAsync("""{"op":"subscribe","symbols":["S01","S02","S03","S04"]}""");
        var session = await RegisteredSessions.OnlyAsync(gateway);
        await Eventually.Holds(() => Task.FromResult(session.PendingCount > 0), "the sends to block", TimeSpan.FromSeconds(20));

        // The client reads nothing from now on. Its sender is stuck in a send, so no ping can even go out: a send
        // stalled for 2.5 s (interval + timeout) is what takes the peer for dead.
        await Eventually.Holds(() => Task.FromResult(session.CloseCode is not null), "the server to give up on the peer", TimeSpan.FromSeconds(15));
        Assert.Equal(CloseCodes.Abnormal, session.CloseCode);
        Assert.True(DateTime.UtcNow - connectedAt >= TimeSpan.FromSeconds(2.3), "cut off before the stall limit");
        await WaitForNoSessionsAsync(gateway);
    }

    private static async Task<RawWebSocket> ConnectAsync(GatewayHost gateway)
    {
        var client = await RawWebSocket.ConnectAsync(gateway.Address);
        Assert.StartsWith("HTTP/1.1 101", client.ResponseHead, StringComparison.Ordinal);
        Assert.Equal(Text, (await client.ReadFrameAsync()).Opcode);
        return client;
    }

    /// <summary>The next protocol message of <paramref name="type"/>, past any other (a feed status, a heartbeat).</summary>
    private static async Task<JsonElement> ReadMessageAsync(RawWebSocket client, string type)
    {
        while (true)
        {
            var message = JsonDocument.Parse((await client.ReadUntilAsync(Text)).Payload).RootElement;
            if (message.GetProperty("type").GetString() == type)
            {
                return message;
            }
        }
    }

    private static Task WaitForNoSessionsAsync(GatewayHost gateway, TimeSpan? timeout = null)
    {
        var registry = gateway.Get<SessionRegistry>();
        return Eventually.Holds(() => registry.Count == 0, () => $"no session registered ({registry.Count} still are)", timeout ?? TimeSpan.FromSeconds(10));
    }
}
