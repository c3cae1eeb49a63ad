using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Unicode;
using MarketStream.Contracts;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// The server side of one WebSocket connection (RFC 6455) over the stream Kestrel hands over after the upgrade:
/// a session's transport, and the loop that reads the client's frames.
/// </summary>
/// <remarks>
/// <para>
/// Everything written goes through the session's sender, one frame at a time: data frames, replies, the pongs
/// and keep-alive pings (<see cref="ControlDue"/>) and the close frame. So nothing needs a send lock, and a frame
/// is written in place in the sender's buffer (<see cref="FrameRoom"/>): one copy, into Kestrel's output pipe.
/// </para>
/// <para>
/// An idle connection holds no buffer: the loop waits for data with a zero-byte read and rents a receive buffer
/// only while bytes are there to parse. Keep-alive needs no timer either: the sender asks on each turn whether a
/// ping is due or a pong is overdue, and the sender's own deadlines (the heartbeat) give it those turns.
/// </para>
/// </remarks>
internal sealed partial class WebSocketConnection : ISessionTransport
{
    private const byte Continuation = 0x0;
    private const byte Text = 0x1;
    private const byte Binary = 0x2;
    private const byte Close = 0x8;
    private const byte Ping = 0x9;
    private const byte Pong = 0xA;

    /// <summary>"No status": never on the wire; a close frame without a body means it.</summary>
    private const int NoStatus = 1005;

    /// <summary>The largest server frame header: 2 bytes, then a 64-bit length.</summary>
    private const int MaxHeader = 10;
    private const int ReceiveBufferSize = 4096;

    private static readonly byte[] PingFrame = [0x80 | Ping, 0];

    /// <summary>RSV1 of a message's first frame: the message is compressed (RFC 7692 section 6).</summary>
    private const byte Compressed = 0x40;

    /// <summary>
    /// Messages shorter than this go out uncompressed (RSV1 clear, as RFC 7692 allows per message): a heartbeat or
    /// a short reply would gain a few bytes at best, for the cost of a compression.
    /// </summary>
    internal const int MinCompressBytes = 128;

    private readonly HttpContext context;
    private readonly Stream stream;
    private readonly GatewayOptions options;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly long pingInterval;
    private readonly long pongTimeout;
    private readonly SocketOutput? direct;

    // permessage-deflate, when negotiated: server messages compressed at this level, client messages inflated.
    private readonly int compressionLevel;
    private readonly bool compresses;

    // With the server's context kept: what the client's inflater holds, for the updates frames.
    private readonly QuoteDeflater? deflater;
    private int lastWireBytes = -1;

    // Set by the receive loop, taken by the sender: the payload of the latest ping, owed a pong.
    private byte[]? pongOwed;

    // When the last keep-alive ping went out, and when the one awaiting its pong did (0: none awaited). The
    // sender writes both; the receive loop clears the second when a pong arrives.
    private long lastPingAt;
    private long pingAwaitedSince;

    private int closeSent;
    private volatile bool closeReceived;

    public WebSocketConnection(HttpContext context, Stream stream, GatewayOptions options, TimeProvider time, ILogger logger, PerMessageDeflate? compression = null)
    {
        if (compression is not null)
        {
            compresses = true;
            compressionLevel = options.CompressionLevel;
            deflater = compression.ServerContextTakeover ? new QuoteDeflater() : null;
        }

        this.context = context;
        this.stream = stream;
        this.options = options;
        this.time = time;
        this.logger = logger;
        pingInterval = Ticks(options.KeepAliveIntervalMs);
        pongTimeout = Ticks(options.KeepAliveTimeoutMs);
        lastPingAt = time.GetTimestamp();

        // On a plain connection the frames go straight to the socket, behind the 101 (see SocketOutput); under
        // TLS through Kestrel's stream, which encrypts them.
        direct = context.Request.IsHttps ? null : context.Features.Get<SocketOutput>();
    }

    public int FrameRoom => MaxHeader;

    /// <summary>Whether frames go straight to the socket (<see cref="SocketOutput"/>) rather than through Kestrel's stream.</summary>
    internal bool WritesToSocket => direct is not null;

    public TimeSpan StallLimit => options.KeepAliveIntervalMs > 0 && options.KeepAliveTimeoutMs > 0
        ? TimeSpan.FromMilliseconds(options.KeepAliveIntervalMs + options.KeepAliveTimeoutMs)
        : Timeout.InfiniteTimeSpan;

    /// <summary>Whether this connection negotiated permessage-deflate.</summary>
    internal bool Compresses => compresses;

    public int LastWireBytes => lastWireBytes;

    public bool WantsQuoteSpans => deflater is not null;

    public ValueTask SendAsync(ReadOnlyMemory<byte> message, string type, CancellationToken cancellationToken)
    {
        if (!compresses || message.Length < MinCompressBytes)
        {
            lastWireBytes = message.Length;
            return SendFrameAsync(Text, message);
        }

        var compressed = MessageCompressor.Compress(message.Span, MaxHeader, compressionLevel, out var end);
        deflater?.Advance(message.Length);
        return SendCompressed(compressed, end - MaxHeader);
    }

    public ValueTask SendUpdatesAsync(ReadOnlyMemory<byte> message, ReadOnlySpan<QuoteSpan> quotes, CancellationToken cancellationToken)
    {
        if (deflater is null || message.Length < MinCompressBytes)
        {
            return SendAsync(message, "updates", cancellationToken);
        }

        var compressed = ArrayPool<byte>.Shared.Rent(MaxHeader + QuoteDeflater.MaxOutput(message.Length));
        var length = deflater.Compress(message.Span, quotes, compressed.AsSpan(MaxHeader));
        return SendCompressed(compressed, length);
    }

    /// <summary>Sends a compressed message that sits after <see cref="MaxHeader"/> free bytes of a pooled array, and returns the array.</summary>
    private ValueTask SendCompressed(byte[] compressed, int length)
    {
        lastWireBytes = length;
        var frame = Framed(Text, compressed.AsMemory(MaxHeader, length), compressed: true);
        if (direct is not null)
        {
            // The socket output has sent or copied the frame by the time it returns: the buffer is free at once.
            var sent = direct.SendAsync(frame);
            ArrayPool<byte>.Shared.Return(compressed);
            return sent;
        }

        return WriteAndReturnAsync(frame, compressed);
    }

    private async ValueTask WriteAndReturnAsync(ReadOnlyMemory<byte> frame, byte[] buffer)
    {
        try
        {
            await stream.WriteAsync(frame).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public bool ControlDue(long timestamp, out TimeSpan untilNext)
    {
        untilNext = Timeout.InfiniteTimeSpan;
        if (Volatile.Read(ref pongOwed) is not null)
        {
            return true;
        }

        if (pingInterval == 0)
        {
            return false;
        }

        var awaited = Volatile.Read(ref pingAwaitedSince);
        if (awaited != 0)
        {
            if (pongTimeout == 0)
            {
                return false;
            }

            // Overdue: the send step fails, which closes the connection as lost.
            var left = pongTimeout - (timestamp - awaited);
            untilNext = Span(left);
            return left <= 0;
        }

        var untilPing = pingInterval - (timestamp - lastPingAt);
        untilNext = Span(untilPing);
        return untilPing <= 0;
    }

    public ValueTask SendControlAsync(long timestamp)
    {
        if (Interlocked.Exchange(ref pongOwed, null) is { } payload)
        {
            return SendFrameAsync(Pong, payload);
        }

        var awaited = Volatile.Read(ref pingAwaitedSince);
        if (awaited != 0)
        {
            if (pongTimeout != 0 && timestamp - awaited >= pongTimeout)
            {
                throw new IOException($"no pong within {options.KeepAliveTimeoutMs} ms of a ping: the peer is taken for dead");
            }

            return ValueTask.CompletedTask;
        }

        if (pingInterval == 0 || timestamp - lastPingAt < pingInterval)
        {
            return ValueTask.CompletedTask;
        }

        lastPingAt = timestamp;
        Volatile.Write(ref pingAwaitedSince, timestamp);
        return Write(PingFrame);
    }

    public ValueTask CloseAsync(int closeCode, string reason, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref closeSent, 1) == 1)
        {
            return ValueTask.CompletedTask;
        }

        if (closeCode == CloseCodes.Abnormal)
        {
            // 1006 is what a lost connection is recorded as; it is never sent.
            Abort();
            return ValueTask.CompletedTask;
        }

        // 1005 means "no code": it never goes on the wire, an empty close body says it.
        var payload = closeCode == NoStatus ? [] : ClosePayload(closeCode, reason);
        var frame = new byte[HeaderSize(payload.Length) + payload.Length];
        WriteHeader(frame, Close, payload.Length);
        payload.CopyTo(frame.AsSpan(frame.Length - payload.Length));
        return Write(frame, cancellationToken);
    }

    public void Abort() => context.Abort();

    /// <summary>
    /// Reads the client's frames and hands each whole message to the session until the connection ends: the
    /// client's close frame (answered by the session's close), a protocol error (the session closes with its
    /// code, and the rest is read only for the client's close frame), or a lost connection.
    /// </summary>
    public async Task ReceiveAsync(Session session)
    {
        var reader = new FrameReader(this, session);
        try
        {
            while (true)
            {
                if (!reader.HasBytes)
                {
                    // Wait for the next bytes without holding a buffer.
                    reader.ReleaseBuffer();
                    await stream.ReadAsync(Memory<byte>.Empty).ConfigureAwait(false);
                }

                var read = await stream.ReadAsync(reader.FreeSpace()).ConfigureAwait(false);
                if (read == 0)
                {
                    if (!closeReceived)
                    {
                        session.BeginClose(CloseCodes.Abnormal, "connection lost");
                    }

                    return;
                }

                if (reader.Parse(read))
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // The client vanished, or the session aborted the connection after its close timeout.
            session.BeginClose(CloseCodes.Abnormal, "connection lost");
        }
        finally
        {
            reader.Dispose();
        }
    }

    private ValueTask SendFrameAsync(byte opcode, ReadOnlyMemory<byte> payload) => Write(Framed(opcode, payload));

    /// <summary>The payload as one whole frame: its header written in the room the sender left in front of it, or a copy.</summary>
    private static ReadOnlyMemory<byte> Framed(byte opcode, ReadOnlyMemory<byte> payload, bool compressed = false)
    {
        var header = HeaderSize(payload.Length);
        if (MemoryMarshal.TryGetArray(payload, out var segment) && segment.Offset >= header)
        {
            // The sender left room in front of the message: the header goes there.
            WriteHeader(segment.Array.AsSpan(segment.Offset - header, header), opcode, payload.Length, compressed);
            return segment.Array.AsMemory(segment.Offset - header, header + payload.Length);
        }

        var frame = new byte[header + payload.Length];
        WriteHeader(frame, opcode, payload.Length, compressed);
        payload.Span.CopyTo(frame.AsSpan(header));
        return frame;
    }

    /// <summary>Every frame leaves here: straight to the socket, or through Kestrel's stream (TLS, or the switch off).</summary>
    private ValueTask Write(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken = default) =>
        direct is not null ? direct.SendAsync(frame) : stream.WriteAsync(frame, cancellationToken);

    internal static int HeaderSize(int length) => length <= 125 ? 2 : length <= ushort.MaxValue ? 4 : 10;

    internal static void WriteHeader(Span<byte> header, byte opcode, int length, bool compressed = false)
    {
        header[0] = (byte)(0x80 | (compressed ? Compressed : 0) | opcode);
        if (length <= 125)
        {
            header[1] = (byte)length;
        }
        else if (length <= ushort.MaxValue)
        {
            header[1] = 126;
            BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)length);
        }
        else
        {
            header[1] = 127;
            BinaryPrimitives.WriteUInt64BigEndian(header[2..], (ulong)length);
        }
    }

    /// <summary>The code, then as much of the reason as fits in a control frame (125 bytes), cut at a character boundary.</summary>
    private static byte[] ClosePayload(int code, string reason)
    {
        var bytes = new byte[2 + Math.Min(Encoding.UTF8.GetByteCount(reason), 123)];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, (ushort)code);
        Utf8.FromUtf16(reason, bytes.AsSpan(2), out _, out var written, replaceInvalidSequences: true, isFinalBlock: true);
        return bytes[..(2 + written)];
    }

    /// <summary>
    /// Close codes a client may send (RFC 6455 section 7.4): the defined ones that may appear on the wire, and
    /// 3000-4999 for libraries and applications.
    /// </summary>
    internal static bool IsValidClientCloseCode(int code) =>
        code is >= 1000 and <= 1003 or >= 1007 and <= 1014 or >= 3000 and <= 4999;

    private long Ticks(int ms) => ms <= 0 ? 0 : ms * time.TimestampFrequency / 1000;

    private TimeSpan Span(long ticks) => ticks <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds((double)ticks / time.TimestampFrequency);

    /// <summary>
    /// The receive side's state: bytes read and not yet parsed, a fragmented message being assembled, a frame
    /// payload being skipped after the session decided to close, and the timer that bounds an unfinished frame.
    /// </summary>
    private sealed class FrameReader(WebSocketConnection connection, Session session) : IDisposable
    {
        private byte[]? buffer;
        private int start;
        private int end;

        // A message sent in several frames, assembled up to the frame limit.
        private byte[]? message;
        private int messageLength;
        private byte messageOpcode;
        private bool messageCompressed;

        // After the session decided to close: frames are only read for the client's close frame, and the
        // payload of a data frame is skipped as it arrives, never buffered.
        private bool discarding;
        private long skip;

        // After a malformed header nothing that follows can be framed: every byte is dropped until the close
        // timeout ends the connection.
        private bool unframed;

        private ITimer? frameTimer;

        public bool HasBytes => end > start;

        private int Limit => connection.options.MaxFrameBytes;

        public Memory<byte> FreeSpace()
        {
            buffer ??= ArrayPool<byte>.Shared.Rent(ReceiveBufferSize);
            return buffer.AsMemory(end);
        }

        public void ReleaseBuffer()
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = null;
            }

            start = end = 0;
        }

        /// <summary>Takes <paramref name="read"/> new bytes; true once the connection is done reading (a close frame came).</summary>
        public bool Parse(int read)
        {
            end += read;
            while (true)
            {
                if (skip > 0)
                {
                    var skipped = (int)Math.Min(skip, end - start);
                    start += skipped;
                    skip -= skipped;
                    if (skip > 0)
                    {
                        break;
                    }
                }

                var step = NextFrame();
                if (step == Outcome.Done)
                {
                    return true;
                }

                if (step == Outcome.NeedMore)
                {
                    break;
                }
            }

            MakeRoom();
            BoundUnfinishedFrame();
            return false;
        }

        private enum Outcome
        {
            Handled,
            NeedMore,
            Done,
        }

        private Outcome NextFrame()
        {
            var available = end - start;
            if (unframed)
            {
                start = end;
                return Outcome.NeedMore;
            }

            if (available < 2)
            {
                return Outcome.NeedMore;
            }

            var bytes = buffer.AsSpan(start, available);
            var fin = (bytes[0] & 0x80) != 0;
            var reserved = bytes[0] & 0x70;
            var opcode = (byte)(bytes[0] & 0x0F);
            var masked = (bytes[1] & 0x80) != 0;
            var length7 = bytes[1] & 0x7F;
            var header = 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0) + (masked ? 4 : 0);
            if (available < header)
            {
                return Outcome.NeedMore;
            }

            var length = length7 switch
            {
                126 => BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]),
                127 => (long)BinaryPrimitives.ReadUInt64BigEndian(bytes[2..]),
                _ => length7,
            };

            var control = opcode >= Close;
            if (discarding && control && length > 125)
            {
                unframed = true;
                return Outcome.Handled;
            }

            if (discarding && !control)
            {
                // Closing: a data frame's payload is skipped as it comes.
                start += header;
                skip = length < 0 ? long.MaxValue : length;
                return Outcome.Handled;
            }

            if (!discarding)
            {
                // RSV1 marks a compressed message, on its first frame only, where permessage-deflate was agreed.
                var compressedStart = reserved == Compressed && connection.compresses && opcode is Text or Binary;
                var problem = reserved != 0 && !compressedStart ? "reserved bits set without an extension that defines them"
                    : !masked ? "client frames must be masked"
                    : opcode is > Binary and < Close or > Pong ? $"unknown opcode {opcode}"
                    : control && (!fin || length > 125) ? "control frames must be whole and at most 125 bytes"
                    : opcode == Continuation && message is null ? "continuation frame without a message to continue"
                    : opcode is Text or Binary && message is not null ? "new message before the last one ended"
                    : length < 0 ? "frame length out of range"
                    : null;
                if (problem is not null)
                {
                    unframed = true;
                    return Fail(CloseCodes.ProtocolError, problem);
                }

                if (!control && messageLength + length > Limit)
                {
                    // Framed correctly, only too big: its payload is skipped as it comes, never buffered.
                    LogFrameTooBig(connection.logger, session.Id, Limit);
                    start += header;
                    skip = length;
                    return Fail(CloseCodes.MessageTooBig, $"frame larger than {Limit} bytes");
                }
            }

            if (available < header + length)
            {
                // A frame is at most the limit plus its header: the buffer grows to hold it whole.
                Reserve(header + (int)length);
                return Outcome.NeedMore;
            }

            var payload = buffer.AsSpan(start + header, (int)length);
            if (masked)
            {
                Unmask(payload, bytes.Slice(header - 4, 4));
            }

            start += header + (int)length;
            return control ? OnControl(opcode, payload) : OnData(opcode, fin, reserved == Compressed, payload);
        }

        private Outcome OnControl(byte opcode, Span<byte> payload)
        {
            switch (opcode)
            {
                case Ping when !discarding:
                    Volatile.Write(ref connection.pongOwed, payload.ToArray());
                    session.WakeSender();
                    return Outcome.Handled;
                case Pong:
                    Volatile.Write(ref connection.pingAwaitedSince, 0);
                    return Outcome.Handled;
                case Close:
                    connection.closeReceived = true;
                    if (!discarding)
                    {
                        var code = NoStatus;
                        if (payload.Length == 1 || (payload.Length >= 2 && !IsValidClientCloseCode(code = BinaryPrimitives.ReadUInt16BigEndian(payload))))
                        {
                            session.BeginClose(CloseCodes.ProtocolError, "invalid close code");
                        }
                        else if (payload.Length > 2 && !Utf8.IsValid(payload[2..]))
                        {
                            session.BeginClose(CloseCodes.InvalidPayloadData, "close reason is not valid UTF-8");
                        }
                        else
                        {
                            // Answered with the client's own code (RFC 6455 section 5.5.1), so metrics show why clients leave.
                            session.BeginClose(code, "client closed");
                        }
                    }

                    return Outcome.Done;
                default:
                    return Outcome.Handled;
            }
        }

        private Outcome OnData(byte opcode, bool fin, bool compressed, Span<byte> payload)
        {
            if (opcode != Continuation && fin)
            {
                // The common case, a request in one frame: handled from the receive buffer, no copy.
                return Deliver(opcode, compressed, payload);
            }

            if (opcode != Continuation)
            {
                message = ArrayPool<byte>.Shared.Rent(Limit);
                messageOpcode = opcode;
                messageCompressed = compressed;
                messageLength = 0;
            }

            payload.CopyTo(message.AsSpan(messageLength));
            messageLength += payload.Length;
            if (!fin)
            {
                return Outcome.Handled;
            }

            var assembled = message!;
            message = null;
            var outcome = Deliver(messageOpcode, messageCompressed, assembled.AsSpan(0, messageLength));
            ArrayPool<byte>.Shared.Return(assembled);
            messageLength = 0;
            return outcome;
        }

        private Outcome Deliver(byte opcode, bool compressed, ReadOnlySpan<byte> body)
        {
            if (!compressed)
            {
                return Deliver(opcode, body);
            }

            // Inflated whole, at most to the frame limit: a small message that inflates to megabytes is refused
            // like a big frame, without the memory.
            byte[]? inflated;
            int length;
            bool tooBig;
            try
            {
                inflated = PerMessageDeflate.Inflate(body, Limit, out length, out tooBig);
            }
            catch (InvalidDataException)
            {
                return Fail(CloseCodes.InvalidPayloadData, "compressed message is not valid deflate data");
            }

            if (inflated is null)
            {
                return Fail(CloseCodes.MessageTooBig, $"message inflates to more than {Limit} bytes");
            }

            try
            {
                return Deliver(opcode, inflated.AsSpan(0, length));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(inflated);
            }
        }

        private Outcome Deliver(byte opcode, ReadOnlySpan<byte> body)
        {
            if (opcode == Binary)
            {
                session.HandleBinaryFrame();
            }
            else if (!Utf8.IsValid(body))
            {
                return Fail(CloseCodes.InvalidPayloadData, "text frame is not valid UTF-8");
            }
            else
            {
                session.HandleFrame(body);
            }

            // A request that made the session close (a frame it could not accept, say) ends the reading too.
            if (session.CloseCode is not null)
            {
                discarding = true;
            }

            return Outcome.Handled;
        }

        /// <summary>Closes with <paramref name="code"/>, then reads on only for the client's close frame (which a client answering the server's close sends).</summary>
        private Outcome Fail(int code, string reason)
        {
            session.BeginClose(code, reason);
            discarding = true;
            if (message is not null)
            {
                ArrayPool<byte>.Shared.Return(message);
                message = null;
                messageLength = 0;
            }

            return Outcome.Handled;
        }

        private static void Unmask(Span<byte> payload, ReadOnlySpan<byte> key)
        {
            var mask = BinaryPrimitives.ReadUInt32LittleEndian(key);
            var i = 0;
            for (; i + 4 <= payload.Length; i += 4)
            {
                var word = MemoryMarshal.Read<uint>(payload[i..]) ^ mask;
                MemoryMarshal.Write(payload[i..], in word);
            }

            for (; i < payload.Length; i++)
            {
                payload[i] ^= key[i & 3];
            }
        }

        /// <summary>Makes sure the buffer can hold <paramref name="size"/> bytes from the start of the frame.</summary>
        private void Reserve(int size)
        {
            if (buffer!.Length - start >= size)
            {
                return;
            }

            var bigger = size > buffer.Length ? ArrayPool<byte>.Shared.Rent(size) : buffer;
            Buffer.BlockCopy(buffer, start, bigger, 0, end - start);
            if (bigger != buffer)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = bigger;
            }

            end -= start;
            start = 0;
        }

        /// <summary>After parsing: nothing left starts over at the buffer's head; a partial frame moves there if the buffer is full.</summary>
        private void MakeRoom()
        {
            if (start == end)
            {
                start = end = 0;
            }
            else if (end == buffer!.Length)
            {
                Reserve(buffer.Length - start + 1);
            }
        }

        /// <summary>A frame (or a message) that has begun must end within the frame timeout, or the session closes with 1008.</summary>
        private void BoundUnfinishedFrame()
        {
            var unfinished = !discarding && (start != end || message is not null);
            if (unfinished && frameTimer is null)
            {
                frameTimer = connection.time.CreateTimer(static s => ((Session)s!).BeginClose(CloseCodes.PolicyViolation, "frame not completed in time"),
                    session, TimeSpan.FromMilliseconds(connection.options.FrameTimeoutMs), Timeout.InfiniteTimeSpan);
            }
            else if (!unfinished && frameTimer is not null)
            {
                frameTimer.Dispose();
                frameTimer = null;
            }
        }

        public void Dispose()
        {
            frameTimer?.Dispose();
            ReleaseBuffer();
            if (message is not null)
            {
                ArrayPool<byte>.Shared.Return(message);
                message = null;
            }
        }
    }

    [LoggerMessage(EventId = 700, Level = LogLevel.Debug, Message = "Session {SessionId}: frame over {Limit} bytes; closing with 1009")]
    private static partial void LogFrameTooBig(ILogger logger, string sessionId, int limit);
}
