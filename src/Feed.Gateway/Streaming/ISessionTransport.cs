namespace MarketStream.Gateway.Streaming;

/// <summary>
/// Where a session's messages go: a WebSocket, or an SSE response. The session calls it from one sender
/// loop only, so an implementation never sees two sends at once.
/// </summary>
internal interface ISessionTransport
{
    /// <summary>
    /// Bytes the transport puts in front of a message (a WebSocket frame header). A sender that writes a message
    /// into an array with this many bytes free just before it lets the transport frame it in place, without a
    /// copy: the transport may overwrite those bytes.
    /// </summary>
    int FrameRoom => 0;

    /// <summary>
    /// The longest one send may go without completing before the peer is taken for dead (a WebSocket peer that
    /// reads nothing for the keep-alive interval plus its timeout); infinite when the transport has no such bound.
    /// </summary>
    TimeSpan StallLimit => Timeout.InfiniteTimeSpan;

    /// <summary>
    /// Bytes the last <see cref="SendAsync"/> put on the wire for the message itself (compressed, where the
    /// transport compresses), or -1 when that is the message's own length.
    /// </summary>
    int LastWireBytes => -1;

    /// <summary>Sends one protocol message (one UTF-8 JSON object) of the given type.</summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> message, string type, CancellationToken cancellationToken);

    /// <summary>
    /// Whether <see cref="SendUpdatesAsync"/> uses the quotes' places in the frame (a compressor that refers each
    /// quote to the last one of its symbol); when false, the sender need not list them.
    /// </summary>
    bool WantsQuoteSpans => false;

    /// <summary>Sends one <c>updates</c> frame whose quotes are <paramref name="quotes"/>, in order.</summary>
    ValueTask SendUpdatesAsync(ReadOnlyMemory<byte> message, ReadOnlySpan<QuoteSpan> quotes, CancellationToken cancellationToken) =>
        SendAsync(message, "updates", cancellationToken);

    /// <summary>
    /// Whether the transport owes a frame of its own now (a WebSocket pong, a keep-alive ping), and otherwise how
    /// long until it next will (infinite: not until something arrives). Asked by the sender on each turn.
    /// </summary>
    bool ControlDue(long timestamp, out TimeSpan untilNext)
    {
        untilNext = Timeout.InfiniteTimeSpan;
        return false;
    }

    /// <summary>Sends what <see cref="ControlDue"/> said is owed; fails when the peer is taken for dead.</summary>
    ValueTask SendControlAsync(long timestamp) => ValueTask.CompletedTask;

    /// <summary>Ends the connection in an orderly way with a protocol close code.</summary>
    ValueTask CloseAsync(int closeCode, string reason, CancellationToken cancellationToken);

    /// <summary>Ends the connection at once; pending sends fail.</summary>
    void Abort();
}
