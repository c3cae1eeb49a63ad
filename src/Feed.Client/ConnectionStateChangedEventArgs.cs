namespace MarketStream.Client;

/// <summary>A change of <see cref="FeedClient.State"/>, with why the previous connection ended when one did.</summary>
public sealed class ConnectionStateChangedEventArgs(
    ConnectionState previous,
    ConnectionState current,
    DisconnectReason reason,
    int? closeStatus = null,
    Exception? exception = null) : EventArgs
{
    /// <summary>The state before the change.</summary>
    public ConnectionState Previous { get; } = previous;

    /// <summary>The state after the change.</summary>
    public ConnectionState Current { get; } = current;

    /// <summary>Why the last connection ended; <see cref="DisconnectReason.None"/> when the change is not a disconnect.</summary>
    public DisconnectReason Reason { get; } = reason;

    /// <summary>The server's WebSocket close code (1001 draining, 1013 full, 4001 slow consumer, 4029 too many requests), when it sent one.</summary>
    public int? CloseStatus { get; } = closeStatus;

    /// <summary>The failure behind the change, if any.</summary>
    public Exception? Exception { get; } = exception;
}
