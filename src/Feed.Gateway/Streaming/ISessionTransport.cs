namespace MarketStream.Gateway.Streaming;

/// <summary>
/// Where a session's messages go: a WebSocket, or an SSE response. The session calls it from one sender
/// loop only, so an implementation never sees two sends at once.
/// </summary>
internal interface ISessionTransport
{
    /// <summary>Sends one protocol message (one UTF-8 JSON object) of the given type.</summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> message, string type, CancellationToken cancellationToken);

    /// <summary>Ends the connection in an orderly way with a protocol close code.</summary>
    ValueTask CloseAsync(int closeCode, string reason, CancellationToken cancellationToken);

    /// <summary>Ends the connection at once; pending sends fail.</summary>
    void Abort();
}
