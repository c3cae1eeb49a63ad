namespace MarketStream.Client;

/// <summary>The gateway's word on its feed: stale since a time (the last tick it received), or live again.</summary>
public sealed class FeedStatusChangedEventArgs(bool isStale, DateTimeOffset? since) : EventArgs
{
    public bool IsStale { get; } = isStale;

    /// <summary>When stale: the time of the last tick the gateway received.</summary>
    public DateTimeOffset? Since { get; } = since;
}
