using System.Buffers;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over arrays rented from the shared pool for one frame at a time and returned
/// right after the send: an idle connection holds no frame buffer at all, so memory per connection stays small
/// when tens of thousands of them wait for ticks.
/// </summary>
internal sealed class PooledFrameBuffer : IBufferWriter<byte>
{
    private const int InitialSize = 4096;
    private byte[]? array;
    private int written;

    public ReadOnlyMemory<byte> WrittenMemory => array is null ? ReadOnlyMemory<byte>.Empty : array.AsMemory(0, written);

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

        written = 0;
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
