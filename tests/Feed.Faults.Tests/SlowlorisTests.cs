using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using MarketStream.Faults.Tests.Infrastructure;

namespace MarketStream.Faults.Tests;

/// <summary>
/// Clients that hold a connection open by sending as slowly as possible, to exhaust the server's connections
/// with almost no traffic. The server must cut them off on its own clock.
/// </summary>
/// <remarks>
/// Written against two gateway settings being added with this work: <c>Feed:Gateway:HandshakeTimeoutMs</c> (the
/// longest the HTTP request line and headers of an upgrade may take; Kestrel's <c>RequestHeadersTimeout</c>,
/// 30 s by default) and <c>Feed:Gateway:FrameTimeoutMs</c> (once a client frame has started, the whole frame
/// must arrive within it, else close 1008). Until they exist, the gateway ignores them and these tests fail.
/// </remarks>
public class SlowlorisTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(1);

    // Kestrel checks its timeouts on a 1 s heartbeat; the rest is scheduling slack on two busy cores.
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task A_client_that_never_finishes_its_request_headers_is_cut_off_after_the_handshake_timeout()
    {
        using var kafka = new FaultKafka();
        await using var gateway = await FaultGateway.StartAsync(kafka, 0, ("Feed:Gateway:HandshakeTimeoutMs", (int)Limit.TotalMilliseconds));
        using var socket = await ConnectAsync(gateway);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{gateway.Port}\r\nUpgrade: websocket\r\n"));
        var clock = Stopwatch.StartNew();

        // One more header byte every 500 ms, never the blank line that ends the headers.
        using var cut = new CancellationTokenSource(Limit + Slack);
        var trickle = Task.Run(async () =>
        {
            try
            {
                while (!cut.IsCancellationRequested)
                {
                    await socket.SendAsync("X-Slow: a\r\n"u8.ToArray().AsMemory(0, 1), cut.Token);
                    await Task.Delay(500, cut.Token);
                }
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // Cut off (what we want) or out of time (the assertion below says so).
            }
        });

        var closed = await ReadUntilClosedAsync(socket, cut.Token);
        Assert.True(closed, $"the server still held the connection {clock.Elapsed.TotalSeconds:F1} s into an unfinished request (HandshakeTimeoutMs={Limit.TotalMilliseconds})");
        Assert.True(clock.Elapsed >= Limit * 0.8, $"cut off after {clock.Elapsed.TotalMilliseconds:F0} ms, before the timeout");
        await cut.CancelAsync();
        await trickle.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_WebSocket_client_that_trickles_a_frame_one_byte_a_second_is_closed_with_1008_after_the_frame_timeout()
    {
        using var kafka = new FaultKafka();
        await using var gateway = await FaultGateway.StartAsync(kafka, 0, ("Feed:Gateway:FrameTimeoutMs", (int)Limit.TotalMilliseconds));
        await using var client = await RawWebSocket.ConnectAsync(gateway.Address);
        Assert.StartsWith("HTTP/1.1 101", client.ResponseHead, StringComparison.Ordinal);
        var hello = await client.ReadFrameAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0x1, hello.Opcode);

        // A masked text frame announcing 40 bytes of payload, then the payload at one byte a second.
        var payload = Encoding.UTF8.GetBytes("""{"op":"ping","id":1,"pad":"xxxxxxxxxx"}""".PadRight(40));
        var mask = new byte[] { 0x12, 0x34, 0x56, 0x78 };
        await client.SendRawAsync(new byte[] { 0x81, (byte)(0x80 | payload.Length), mask[0], mask[1], mask[2], mask[3] });
        var clock = Stopwatch.StartNew();
        using var cut = new CancellationTokenSource(Limit + Slack);
        var trickle = Task.Run(async () =>
        {
            try
            {
                for (var i = 0; i < payload.Length && !cut.IsCancellationRequested; i++)
                {
                    await client.SendRawAsync(new[] { (byte)(payload[i] ^ mask[i % 4]) });
                    await Task.Delay(1_000, cut.Token);
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // Closed (what we want) or out of time (the assertion below says so).
            }
        });

        // Skip what the server may send meanwhile (heartbeats, pings) until its close frame.
        int? closeCode = null;
        try
        {
            closeCode = (await client.ReadUntilAsync(0x8, (Limit + Slack) - clock.Elapsed)).CloseCode;
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException or IOException or EndOfStreamException)
        {
            Assert.Fail($"no close frame {clock.Elapsed.TotalSeconds:F1} s into a frame trickled at 1 byte/s (FrameTimeoutMs={Limit.TotalMilliseconds}): {ex.GetType().Name}");
        }

        Assert.Equal(1008, closeCode);
        Assert.True(clock.Elapsed >= Limit * 0.8, $"closed after {clock.Elapsed.TotalMilliseconds:F0} ms, before the timeout");
        await cut.CancelAsync();
        await trickle.WaitAsync(TimeSpan.FromSeconds(5));
    }

    private static async Task<Socket> ConnectAsync(GatewayHost gateway)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync("127.0.0.1", gateway.Port).WaitAsync(TimeSpan.FromSeconds(5));
        return socket;
    }

    /// <summary>True once the server has closed the connection (end of stream or reset); false if <paramref name="ct"/> ran out first.</summary>
    private static async Task<bool> ReadUntilClosedAsync(Socket socket, CancellationToken ct)
    {
        var buffer = new byte[4096];
        try
        {
            while (await socket.ReceiveAsync(buffer, ct) > 0)
            {
                // A 408 or 400 response before the close is fine: what matters is the close.
            }

            return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
