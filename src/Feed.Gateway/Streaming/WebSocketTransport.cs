using System.Net.WebSockets;

namespace MarketStream.Gateway.Streaming;

/// <summary>A session's messages as WebSocket text frames, one JSON object each.</summary>
internal sealed class WebSocketTransport(WebSocket socket) : ISessionTransport
{
    public WebSocket Socket => socket;

    /// <remarks>
    /// The send is not cancellable on purpose: given a token that can be cancelled, the managed WebSocket takes
    /// its slow path (an async state machine per frame). A send stuck on a client that reads nothing ends when
    /// the session aborts the socket after its close timeout.
    /// </remarks>
    public ValueTask SendAsync(ReadOnlyMemory<byte> message, string type, CancellationToken cancellationToken) =>
        socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    public async ValueTask CloseAsync(int closeCode, string reason, CancellationToken cancellationToken)
    {
        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            await socket.CloseOutputAsync((WebSocketCloseStatus)closeCode, reason, cancellationToken).ConfigureAwait(false);
        }
    }

    public void Abort() => socket.Abort();
}
