namespace MarketStream.Client;

/// <summary>Where a <see cref="FeedClient"/> stands with its gateway.</summary>
public enum ConnectionState
{
    /// <summary>Not started, or trying to connect for the first time.</summary>
    Connecting,

    /// <summary>The socket is open and the server's <c>hello</c> has arrived.</summary>
    Connected,

    /// <summary>A connection was lost (or never came up) and the client is waiting out its backoff or connecting again.</summary>
    Reconnecting,

    /// <summary>Disposed: closed with 1000, never connects again.</summary>
    Disposed,
}

/// <summary>Why a connection ended (or failed to start).</summary>
public enum DisconnectReason
{
    /// <summary>No connection ended: the first attempt, or a state change with no disconnect behind it.</summary>
    None,

    /// <summary>The upgrade failed or the <c>hello</c> did not come in time (HTTP 503 from a draining gateway, refused TCP, …).</summary>
    ConnectFailed,

    /// <summary>The server closed the connection; <see cref="ConnectionStateChangedEventArgs.CloseStatus"/> has its code.</summary>
    ServerClosed,

    /// <summary>Nothing arrived for <see cref="FeedClientOptions.StaleFactor"/> times the heartbeat interval.</summary>
    Stale,

    /// <summary>The connection broke without a close handshake, or a server message could not be read.</summary>
    ConnectionLost,

    /// <summary>The client was disposed.</summary>
    Disposed,
}
