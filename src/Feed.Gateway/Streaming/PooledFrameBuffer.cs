using System.Buffers;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over arrays rented from the shared pool for one frame at a time and returned
/// right after the send: an idle connection holds no frame buffer at all, so memory per connection stays small
/// when tens of thousands of them wait for ticks.
/// </summary>
/// <remarks>
/// The first <c>room</c> bytes of each array are left free in front of the message, for the transport to frame it
/// in place (<see cref="ISessionTransport.FrameRoom"/>).
/// </remarks>
internal sealed class PooledFrameBuffer(int room = 0) : IBufferWriter<byte>
{
    private const int InitialSize = 4096;
    private readonly int room = room;
    private byte[]? array;
    private int written = room;

    public ReadOnlyMemory<byte> WrittenMemory => array is null ? ReadOnlyMemory<byte>.Empty : array.AsMemory(room, written - room);

    /// <summary>Bytes of the message written so far (the room in front not counted).</summary>
    public int WrittenCount => written - room;

    public void Advance(int count) => written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return array.AsMemory(written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return array.AsSpan(written);
    }

    /// <summary>Gives the array back to the pool; the next frame rents again.</summary>
    public void Release()
    {
        if (array is not null)
        {
            ArrayPool<byte>.Shared.Return(array);
            array = null;
        }

        written = room;
    }

    private void Ensure(int sizeHint)
    {
        var needed = written + Math.Max(sizeHint, 1);
        if (array is not null && needed <= array.Length)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, array is null ? InitialSize : array.Length * 2));
        if (array is not null)
        {
            array.AsSpan(0, written).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(array);
        }

        array = bigger;
    }
}
