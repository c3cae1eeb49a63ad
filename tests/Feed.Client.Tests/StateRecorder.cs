using System.Collections.Concurrent;

namespace MarketStream.Client.Tests;

/// <summary>Records every state change a client reports.</summary>
internal sealed class StateRecorder
{
    public StateRecorder(FeedClient client) => client.StateChanged += (_, e) => Changes.Enqueue(e);

    public ConcurrentQueue<ConnectionStateChangedEventArgs> Changes { get; } = new();

    public bool Saw(ConnectionState state, DisconnectReason? reason = null) =>
        Changes.Any(c => c.Current == state && (reason is null || c.Reason == reason));
}
