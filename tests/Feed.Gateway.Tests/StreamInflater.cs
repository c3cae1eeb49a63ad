using System.IO.Compression;

namespace MarketStream.Gateway.Tests;

/// <summary>A client's inflater: one deflate stream across messages, each message's payload fed with the tail put back.</summary>
internal sealed class StreamInflater : IDisposable
{
    private readonly FeedStream input = new();
    private readonly DeflateStream inflater;

    public StreamInflater() => inflater = new DeflateStream(input, CompressionMode.Decompress);

    public byte[] Inflate(byte[] payload)
    {
        input.Feed([.. payload, 0, 0, 0xFF, 0xFF]);
        var output = new MemoryStream();
        var buffer = new byte[8192];
        int read;
        while ((read = inflater.Read(buffer)) > 0)
        {
            output.Write(buffer, 0, read);
        }

        Assert.Equal(0, input.Left);
        return output.ToArray();
    }

    public void Dispose() => inflater.Dispose();

    /// <summary>Hands out what was fed, then "nothing more for now" until fed again.</summary>
    private sealed class FeedStream : Stream
    {
        private byte[] data = [];
        private int position;

        public int Left => data.Length - position;

        public void Feed(byte[] bytes)
        {
            data = bytes;
            position = 0;
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = Math.Min(count, Left);
            Array.Copy(data, position, buffer, offset, n);
            position += n;
            return n;
        }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
