namespace MarketStream.Client;

/// <summary>The <c>type</c> of a server message; <see cref="Unknown"/> for types a v1 client may ignore.</summary>
internal enum ServerMessageType
{
    Unknown,
    Hello,
    Subscribed,
    Unsubscribed,
    Snapshot,
    Updates,
    Configured,
    Pong,
    Heartbeat,
    Error,
    Status,
}

/// <summary>One server message, with the fields of every type flattened (only those of its type are set).</summary>
internal sealed class ServerMessage
{
    public ServerMessageType Type { get; set; }

    /// <summary>The echoed request id; the client only ever sends numeric ids.</summary>
    public long? Id { get; set; }

    public List<string>? Symbols { get; set; }

    public List<QuoteUpdate>? Quotes { get; set; }

    public string? Code { get; set; }

    public string? Message { get; set; }

    public string? SessionId { get; set; }

    public string? Policy { get; set; }

    public int? ThrottleMs { get; set; }

    public int? HeartbeatMs { get; set; }

    /// <summary><c>status</c>'s <c>feed</c>: <c>stale</c> or <c>live</c>.</summary>
    public string? Feed { get; set; }

    /// <summary><c>status</c>'s <c>since</c> (Unix microseconds): the last tick the gateway received before the feed went stale.</summary>
    public long? Since { get; set; }

    /// <summary><c>hello</c>'s stream epoch (an extension of v1): <c>seq</c> compares only within one epoch.</summary>
    public string? Epoch { get; set; }

    public long? ServerTime { get; set; }
}
