using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Compression;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Primitives;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// The <c>permessage-deflate</c> extension (RFC 7692) as this gateway runs it: the negotiation on the handshake,
/// and the inflation of client messages.
/// </summary>
/// <remarks>
/// <para>
/// The answer always has <c>client_no_context_takeover</c>: client messages (a few requests) are inflated one by
/// one. The server keeps its context (the client's inflater keeps the last 32 KiB it inflated), unless the client
/// asks for <c>server_no_context_takeover</c> or <see cref="GatewayOptions.CompressionContext"/> is off; then every
/// server message is compressed on its own and the answer says so. With the context kept, <c>updates</c> frames go
/// through <see cref="QuoteDeflater"/>, which refers each quote to the last one of its symbol that the client
/// inflated, and the other messages through <see cref="MessageCompressor"/>.
/// </para>
/// <para>
/// An offer that limits the server's window (<c>server_max_window_bits</c> below 15) is declined: both compressors
/// use a 32 KiB window. Browsers and the common libraries do not send that parameter.
/// </para>
/// </remarks>
internal sealed record PerMessageDeflate(bool ServerContextTakeover)
{
    public const string Name = "permessage-deflate";

    /// <summary>The answer when the server keeps its context.</summary>
    public const string ContextResponse = $"{Name}; client_no_context_takeover";

    /// <summary>The answer when every server message is compressed on its own.</summary>
    public const string NoContextResponse = $"{Name}; server_no_context_takeover; client_no_context_takeover";

    /// <summary>The response header value for this agreement.</summary>
    public string Response => ServerContextTakeover ? ContextResponse : NoContextResponse;

    /// <summary>
    /// The first acceptable <c>permessage-deflate</c> offer among the request's extension offers, or null;
    /// <paramref name="keepContext"/> false answers <c>server_no_context_takeover</c> to every client.
    /// </summary>
    public static PerMessageDeflate? Negotiate(StringValues extensionHeaders, bool keepContext = true)
    {
        foreach (var header in extensionHeaders)
        {
            foreach (var offer in (header ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (TryAccept(offer, keepContext) is { } accepted)
                {
                    return accepted;
                }
            }
        }

        return null;
    }

    private static PerMessageDeflate? TryAccept(string offer, bool keepContext)
    {
        var parts = offer.Split(';', StringSplitOptions.TrimEntries);
        if (!parts[0].Equals(Name, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
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
                case "server_no_context_takeover" or "client_no_context_takeover" when value is null:
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

        return new PerMessageDeflate(keepContext && !seen.Contains("server_no_context_takeover"));
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
        try
        {
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
        catch (InvalidDataException)
        {
            ArrayPool<byte>.Shared.Return(output);
            throw;
        }
    }
}

/// <summary>
/// Compresses whole messages into RFC 7692 payloads (raw deflate, the final <c>00 00 FF FF</c> removed), each on
/// its own, so no message refers to an earlier one and no connection holds zlib state: every message of a
/// connection that agreed <c>server_no_context_takeover</c>, and the messages other than <c>updates</c> (which
/// <see cref="QuoteDeflater"/> writes) of one that did not.
/// </summary>
/// <remarks>
/// <para>
/// Why no context per connection: a deflater with its window and hash table is about 230 KiB with this runtime's
/// zlib. Kept per connection (measured with 1,000 busy clients), that is 230 MB that no cache holds, and every
/// message then waits on memory: the gateway spent 3.9 core-seconds per million quotes, against 0.85 without
/// compression. A few deflaters shared by the sending threads stay in cache; each message ends with a full flush,
/// which makes the next one start afresh. Quotes compress a little less (each frame alone: 58 against 52 bytes per
/// quote at level 1, measured on recorded frames), at a fraction of the CPU, and clients may drop their inflate
/// window between messages too.
/// </para>
/// <para>
/// The deflaters are zlib's, reached through the runtime's own compression library
/// (<c>libSystem.IO.Compression.Native</c>, whose <see cref="DeflateStream"/> offers no full flush). Should that
/// library ever lack the entry points, each message gets a <see cref="DeflateStream"/> of its own: slower, the same
/// bytes on the wire.
/// </para>
/// </remarks>
internal static unsafe partial class MessageCompressor
{
    private const string Library = "libSystem.IO.Compression.Native";
    private const int Deflated = 8;
    private const int RawWindowBits = -15;
    private const int MemLevel = 8;
    private const int FullFlush = 3;

    private static readonly ConcurrentStack<Deflater> Idle = new();
    private static int nativeMissing;

    /// <summary>
    /// Compresses <paramref name="message"/> into a pooled array with <paramref name="room"/> free bytes in front
    /// (for the frame header); the caller returns the array to <see cref="ArrayPool{T}.Shared"/>.
    /// </summary>
    public static byte[] Compress(ReadOnlySpan<byte> message, int room, int level, out int length)
    {
        var output = ArrayPool<byte>.Shared.Rent(room + message.Length + (message.Length >> 3) + 64);
        var written = Volatile.Read(ref nativeMissing) == 0 && TryNative(message, output.AsSpan(room), level, out var n) ? n : Managed(message, output, room, level);
        length = room + written;
        return output;
    }

    private static bool TryNative(ReadOnlySpan<byte> message, Span<byte> output, int level, out int written)
    {
        written = 0;
        Deflater? deflater = null;
        try
        {
            deflater = Rent(level);
            written = deflater.Compress(message, output);
            Return(deflater);
            return true;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            Volatile.Write(ref nativeMissing, 1);
            return false;
        }
        catch
        {
            deflater?.Dispose();
            throw;
        }
    }

    private static Deflater Rent(int level)
    {
        while (Idle.TryPop(out var deflater))
        {
            if (deflater.Level == level)
            {
                return deflater;
            }

            deflater.Dispose();
        }

        return new Deflater(level);
    }

    private static void Return(Deflater deflater)
    {
        // As many as ever sent at once (the sending threads), and a few more: extras are let go.
        if (Idle.Count < 2 * Environment.ProcessorCount + 2)
        {
            Idle.Push(deflater);
        }
        else
        {
            deflater.Dispose();
        }
    }

    internal static int Managed(ReadOnlySpan<byte> message, byte[] output, int room, int level)
    {
        var sink = new MemoryStream();
        using (var deflate = new DeflateStream(sink, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true))
        {
            deflate.Write(message);
            deflate.Flush();
        }

        // Disposing wrote a last empty block after the flush's marker: cut back to the marker.
        var bytes = sink.GetBuffer().AsSpan(0, (int)sink.Length);
        var end = bytes.LastIndexOf((ReadOnlySpan<byte>)[0, 0, 0xFF, 0xFF]);
        bytes[..end].CopyTo(output.AsSpan(room));
        return end;
    }

    /// <summary>One zlib deflate stream (raw, 32 KiB window), used by one thread at a time.</summary>
    private sealed class Deflater : IDisposable
    {
        private readonly ZStream* stream;

        public Deflater(int level)
        {
            Level = level;
            stream = (ZStream*)NativeMemory.AllocZeroed((nuint)sizeof(ZStream));
            var result = DeflateInit(stream, level, Deflated, RawWindowBits, MemLevel, 0);
            if (result != 0)
            {
                NativeMemory.Free(stream);
                throw new InvalidOperationException($"zlib deflateInit2 failed ({result})");
            }
        }

        public int Level { get; }

        /// <summary>Compresses the message with a full flush (nothing after it refers back); the marker at the end is left out.</summary>
        public int Compress(ReadOnlySpan<byte> message, Span<byte> output)
        {
            fixed (byte* input = message)
            fixed (byte* target = output)
            {
                stream->NextIn = input;
                stream->AvailIn = (uint)message.Length;
                stream->NextOut = target;
                stream->AvailOut = (uint)output.Length;
                var result = Deflate(stream, FullFlush);
                if (result != 0 || stream->AvailIn != 0 || stream->AvailOut == 0)
                {
                    throw new InvalidOperationException($"zlib deflate failed ({result}, {stream->AvailIn} bytes left)");
                }

                var written = output.Length - (int)stream->AvailOut;
                stream->NextIn = stream->NextOut = null;
                return written >= 4 && output[(written - 4)..written].SequenceEqual((ReadOnlySpan<byte>)[0, 0, 0xFF, 0xFF]) ? written - 4 : written;
            }
        }

        public void Dispose()
        {
            _ = DeflateEnd(stream);
            NativeMemory.Free(stream);
        }
    }

    /// <summary>The runtime library's view of zlib's stream (its <c>PAL_ZStream</c>).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ZStream
    {
        public byte* NextIn;
        public byte* NextOut;
        public nint Message;
        public nint State;
        public uint AvailIn;
        public uint AvailOut;
    }

    [LibraryImport(Library, EntryPoint = "CompressionNative_DeflateInit2_")]
    private static partial int DeflateInit(ZStream* stream, int level, int method, int windowBits, int memLevel, int strategy);

    [LibraryImport(Library, EntryPoint = "CompressionNative_Deflate")]
    private static partial int Deflate(ZStream* stream, int flush);

    [LibraryImport(Library, EntryPoint = "CompressionNative_DeflateEnd")]
    private static partial int DeflateEnd(ZStream* stream);
}
