using System.Net.WebSockets;

namespace MarketStream.Gateway.Streaming;

/// <summary>A session's messages as WebSocket text frames, one JSON object each.</summary>
internal sealed class WebSocketTransport(WebSocket socket) : ISessionTransport
{
    public ValueTask SendAsync(ReadOnlyMemory<byte> message, string type, CancellationToken cancellationToken) =>
        socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    public async ValueTask CloseAsync(int closeCode, string reason, CancellationToken cancellationToken)
    {
        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            await socket.CloseOutputAsync((WebSocketCloseStatus)closeCode, reason, cancellationToken).ConfigureAwait(false);
        }
    }

    public void Abort() => socket.Abort();
}
