using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Xunit;

namespace MarketStream.Testing;

/// <summary>
/// A WebSocket client written byte by byte (RFC 6455) over a raw TCP socket, so a test can send what no
/// well-behaved client library would: unmasked frames, reserved bits, fragments with a ping between them,
/// invalid UTF-8, odd close frames; and see exactly what the server sends back, and how the TCP connection ends.
/// </summary>
public sealed class RawWebSocket : IAsyncDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);
    private readonly Socket socket;
    private readonly NetworkStream stream;

    private RawWebSocket(Socket socket, string responseHead)
    {
        this.socket = socket;
        stream = new NetworkStream(socket, ownsSocket: false);
        ResponseHead = responseHead;
    }

    /// <summary>The server's answer to the upgrade: status line and headers.</summary>
    public string ResponseHead { get; }

    /// <summary>Connects and sends the upgrade request; <paramref name="extraHeaders"/> lines end with CRLF.</summary>
    public static async Task<RawWebSocket> ConnectAsync(Uri gateway, string path = "/ws", string key = "dGhlIHNhbXBsZSBub25jZQ==", string extraHeaders = "Sec-WebSocket-Protocol: marketstream.v1\r\n", int receiveBuffer = 0)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (receiveBuffer > 0)
        {
            socket.ReceiveBufferSize = receiveBuffer;
        }

        await socket.ConnectAsync(IPAddress.Loopback, gateway.Port).WaitAsync(DefaultTimeout);
        var request = $"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{gateway.Port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extraHeaders}\r\n";
        await socket.SendAsync(Encoding.ASCII.GetBytes(request));

        // The head, byte by byte, so nothing of the first frame is read with it.
        var head = new List<byte>();
        var one = new byte[1];
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        while (!(head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (await socket.ReceiveAsync(one, timeout.Token) == 0)
            {
                break;
            }

            head.Add(one[0]);
        }

        return new RawWebSocket(socket, Encoding.ASCII.GetString([.. head]));
    }

    /// <summary>Sends one frame, masked unless told otherwise, with the given first byte's flags.</summary>
    public Task SendFrameAsync(int opcode, ReadOnlyMemory<byte> payload, bool fin = true, bool masked = true, int reserved = 0) =>
        SendRawAsync(FrameBytes(opcode, payload, fin, masked, reserved));

    /// <summary>Sends bytes as they are: part of a frame, say.</summary>
    public Task SendRawAsync(ReadOnlyMemory<byte> bytes) => socket.SendAsync(bytes).AsTask().WaitAsync(DefaultTimeout);

    /// <summary>One client frame's bytes: the header (the shortest length form), the mask key, the masked payload.</summary>
    public static byte[] FrameBytes(int opcode, ReadOnlyMemory<byte> payload, bool fin = true, bool masked = true, int reserved = 0)
    {
        var frame = new List<byte> { (byte)((fin ? 0x80 : 0) | (reserved << 4) | opcode) };
        var maskBit = masked ? 0x80 : 0;
        if (payload.Length <= 125)
        {
            frame.Add((byte)(maskBit | payload.Length));
        }
        else if (payload.Length <= ushort.MaxValue)
        {
            frame.Add((byte)(maskBit | 126));
            frame.Add((byte)(payload.Length >> 8));
            frame.Add((byte)payload.Length);
        }
        else
        {
            frame.Add((byte)(maskBit | 127));
            var length = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(length, (ulong)payload.Length);
            frame.AddRange(length);
        }

        var mask = masked ? RandomNumberGenerator.GetBytes(4) : [];
        frame.AddRange(mask);
        var body = payload.ToArray();
        for (var i = 0; i < body.Length; i++)
        {
            frame.Add(masked ? (byte)(body[i] ^ mask[i % 4]) : body[i]);
        }

        return frame.ToArray();
    }

    public Task SendTextAsync(string text) => SendFrameAsync(0x1, Encoding.UTF8.GetBytes(text));

    public Task SendCloseAsync(int? code, string reason = "")
    {
        if (code is null)
        {
            return SendFrameAsync(0x8, ReadOnlyMemory<byte>.Empty);
        }

        var payload = new byte[2 + Encoding.UTF8.GetByteCount(reason)];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)code.Value);
        Encoding.UTF8.GetBytes(reason, payload.AsSpan(2));
        return SendFrameAsync(0x8, payload);
    }

    /// <summary>Reads one server frame; the server's frames are never masked (asserted).</summary>
    public async Task<Frame> ReadFrameAsync(TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        using var cts = new CancellationTokenSource(limit > TimeSpan.Zero ? limit : TimeSpan.FromMilliseconds(1));
        var header = new byte[2];
        await stream.ReadExactlyAsync(header, cts.Token);
        Assert.True((header[1] & 0x80) == 0, "a server frame was masked");
        long length = header[1] & 0x7F;
        if (length == 126)
        {
            var extended = new byte[2];
            await stream.ReadExactlyAsync(extended, cts.Token);
            length = BinaryPrimitives.ReadUInt16BigEndian(extended);
        }
        else if (length == 127)
        {
            var extended = new byte[8];
            await stream.ReadExactlyAsync(extended, cts.Token);
            length = (long)BinaryPrimitives.ReadUInt64BigEndian(extended);
        }

        var payload = new byte[length];
        await stream.ReadExactlyAsync(payload, cts.Token);
        return new Frame((header[0] & 0x80) != 0, (header[0] >> 4) & 0x7, header[0] & 0x0F, payload);
    }

    /// <summary>Reads frames until one with <paramref name="opcode"/> (skipping heartbeats, updates and pings).</summary>
    public async Task<Frame> ReadUntilAsync(int opcode, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (true)
        {
            var frame = await ReadFrameAsync(deadline - DateTime.UtcNow);
            if (frame.Opcode == opcode)
            {
                return frame;
            }
        }
    }

    /// <summary>
    /// After the close handshake: how the server ended the TCP connection. True for an orderly end (FIN, end of
    /// stream), false for a reset, which would make a client lose what it had not read yet.
    /// </summary>
    public async Task<bool> EndsCleanlyAsync()
    {
        using var cts = new CancellationTokenSource(DefaultTimeout);
        var buffer = new byte[1024];
        try
        {
            while (await socket.ReceiveAsync(buffer, cts.Token) > 0)
            {
            }

            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public ValueTask DisposeAsync()
    {
        stream.Dispose();
        socket.Dispose();
        return ValueTask.CompletedTask;
    }

    public readonly record struct Frame(bool Fin, int Reserved, int Opcode, byte[] Payload)
    {
        public int CloseCode => Payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Payload) : 1005;

        public string Text => Encoding.UTF8.GetString(Opcode == 0x8 && Payload.Length >= 2 ? Payload[2..] : Payload);
    }
}
