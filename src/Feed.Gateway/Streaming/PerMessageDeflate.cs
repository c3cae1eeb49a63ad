using System.Buffers;
using System.IO.Compression;
using Microsoft.Extensions.Primitives;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// The <c>permessage-deflate</c> extension (RFC 7692) as this gateway runs it: the negotiation on the handshake,
/// and the settings one connection agreed to.
/// </summary>
/// <remarks>
/// <para>
/// The answer always holds <c>client_no_context_takeover</c>: client messages (a few requests) are inflated
/// one by one with a transient inflater, so a connection keeps no inflate state. The server keeps its own
/// context between messages (each message can refer to earlier ones, which is where most of the gain on a stream
/// of similar quotes comes from) unless the client asked for <c>server_no_context_takeover</c>.
/// </para>
/// <para>
/// An offer that limits the server's window (<c>server_max_window_bits</c> below 15) is declined: the runtime's
/// deflater always uses a 32 KiB window. Browsers and the common libraries do not send that parameter.
/// </para>
/// </remarks>
internal sealed record PerMessageDeflate(bool ServerNoContextTakeover)
{
    public const string Name = "permessage-deflate";

    /// <summary>The response header value for this agreement.</summary>
    public string Response => ServerNoContextTakeover
        ? $"{Name}; server_no_context_takeover; client_no_context_takeover"
        : $"{Name}; client_no_context_takeover";

    /// <summary>The first acceptable <c>permessage-deflate</c> offer among the request's extension offers, or null.</summary>
    public static PerMessageDeflate? Negotiate(StringValues extensionHeaders)
    {
        foreach (var header in extensionHeaders)
        {
            foreach (var offer in (header ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (TryAccept(offer) is { } accepted)
                {
                    return accepted;
                }
            }
        }

        return null;
    }

    private static PerMessageDeflate? TryAccept(string offer)
    {
        var parts = offer.Split(';', StringSplitOptions.TrimEntries);
        if (!parts[0].Equals(Name, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var serverNoContextTakeover = false;
        foreach (var parameter in parts.Skip(1))
        {
            var eq = parameter.IndexOf('=', StringComparison.Ordinal);
            var key = (eq < 0 ? parameter : parameter[..eq]).Trim();
            var value = eq < 0 ? null : parameter[(eq + 1)..].Trim().Trim('"');

            // RFC 7692 section 7: a parameter given twice, an unknown one or a bad value declines the offer.
            if (!seen.Add(key))
            {
                return null;
            }

            switch (key.ToLowerInvariant())
            {
                case "server_no_context_takeover" when value is null:
                    serverNoContextTakeover = true;
                    break;
                case "client_no_context_takeover" when value is null:
                    break;
                case "client_max_window_bits" when value is null || IsWindowBits(value):
                    // The client's window matters to nobody here: its messages are inflated one by one.
                    break;
                case "server_max_window_bits" when value is not null && IsWindowBits(value):
                    if (value != "15")
                    {
                        return null;
                    }

                    break;
                default:
                    return null;
            }
        }

        return new PerMessageDeflate(serverNoContextTakeover);
    }

    private static bool IsWindowBits(string value) => value.Length is 1 or 2 && int.TryParse(value, out var bits) && bits is >= 8 and <= 15 && value[0] != '0';

    /// <summary>
    /// Inflates one client message (its payload without the 4-byte tail the sender removed) into a pooled array
    /// of at most <paramref name="limit"/> bytes. Null with <paramref name="tooBig"/> set when the message
    /// inflates past the limit; <see cref="InvalidDataException"/> when it is not deflate data.
    /// </summary>
    public static byte[]? Inflate(ReadOnlySpan<byte> compressed, int limit, out int length, out bool tooBig)
    {
        var input = new byte[compressed.Length + 4];
        compressed.CopyTo(input);
        input[^3] = 0;
        input[^2] = 0xFF;
        input[^1] = 0xFF;
        using var inflater = new DeflateStream(new MemoryStream(input, writable: false), CompressionMode.Decompress);
        var output = ArrayPool<byte>.Shared.Rent(limit + 1);
        length = 0;
        tooBig = false;
        while (true)
        {
            var read = inflater.Read(output, length, output.Length - length);
            if (read == 0)
            {
                return output;
            }

            length += read;
            if (length > limit)
            {
                ArrayPool<byte>.Shared.Return(output);
                tooBig = true;
                return null;
            }
        }
    }
}

/// <summary>
/// One connection's compressor: whole messages in, RFC 7692 payloads out (raw deflate, sync-flushed, the final
/// <c>00 00 FF FF</c> removed). The deflater and its output buffer exist only while the connection sends: they
/// are made on the first compressed message and released after <see cref="IdleRelease"/> without one (or after
/// every message under <c>server_no_context_takeover</c>), so an idle connection holds no compression memory.
/// A later message starts a fresh deflate stream: the client's inflater carries on, as RFC 7692 allows a server
/// that does not use its context.
/// </summary>
internal sealed class MessageDeflater(int level, bool noContextTakeover) : IDisposable
{
    /// <summary>How long a connection may send nothing compressed before its deflater is released.</summary>
    public static readonly TimeSpan IdleRelease = TimeSpan.FromSeconds(2);

    private readonly Sink sink = new();
    private DeflateStream? deflater;

    /// <summary>Whether a deflater is held now (the connection has compressed within <see cref="IdleRelease"/>).</summary>
    public bool Active => deflater is not null;

    /// <summary>When the last message was compressed (a <see cref="TimeProvider"/> timestamp).</summary>
    public long LastUsed { get; private set; }

    /// <summary>
    /// Compresses <paramref name="message"/>; the result has <paramref name="room"/> free bytes in front (for the
    /// frame header) and stays valid until the next call or <see cref="Release"/>.
    /// </summary>
    public ArraySegment<byte> Compress(ReadOnlySpan<byte> message, int room, long now)
    {
        LastUsed = now;
        sink.Start(room, message.Length / 2 + 64);
        deflater ??= new DeflateStream(sink, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true);
        deflater.Write(message);

        // A sync flush: everything written so far comes out, ending on a byte boundary with 00 00 FF FF.
        deflater.Flush();
        var output = sink.Written;
        if (output.Count >= room + 4 && output.AsSpan(output.Count - 4).SequenceEqual((ReadOnlySpan<byte>)[0, 0, 0xFF, 0xFF]))
        {
            output = output[..^4];
        }

        if (noContextTakeover)
        {
            // Each message its own stream: the output moves out of the sink's buffer before it is released.
            var copy = output.ToArray();
            Release();
            return copy;
        }

        return output;
    }

    /// <summary>Drops the deflater and returns the buffer; the next message starts a new deflate stream.</summary>
    public void Release()
    {
        if (deflater is not null)
        {
            // Disposing writes the stream's final block into the sink; nobody reads it.
            sink.Discard = true;
            deflater.Dispose();
            deflater = null;
            sink.Discard = false;
        }

        sink.ReturnBuffer();
    }

    public void Dispose() => Release();

    /// <summary>The deflater's output: a pooled buffer with room for the frame header in front.</summary>
    private sealed class Sink : Stream
    {
        private byte[]? buffer;
        private int written;

        public bool Discard { get; set; }

        public ArraySegment<byte> Written => new(buffer!, 0, written);

        public void Start(int room, int expected)
        {
            if (buffer is null || buffer.Length < room + expected)
            {
                ReturnBuffer();
                buffer = ArrayPool<byte>.Shared.Rent(Math.Max(room + expected, 4096));
            }

            written = room;
        }

        public void ReturnBuffer()
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = null;
            }

            written = 0;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> bytes)
        {
            if (Discard)
            {
                return;
            }

            if (buffer!.Length - written < bytes.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(buffer.Length * 2, written + bytes.Length));
                buffer.AsSpan(0, written).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = bigger;
            }

            bytes.CopyTo(buffer.AsSpan(written));
            written += bytes.Length;
        }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
