using MarketStream.Contracts;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// <c>Feed:Gateway</c>: what one gateway allows each connection and how it treats them. Every limit a
/// client could otherwise push without bound is here, with its default; the defaults live here and only here.
/// </summary>
public sealed class GatewayOptions
{
    public const string Section = "Feed:Gateway";

    /// <summary>Throttle of a connection that does not choose one, in ms. Defaults to 100 (PROTOCOL.md); 0 to 60,000.</summary>
    public int ThrottleMs { get; set; } = 100;

    /// <summary>Policy of a connection that does not choose one. Defaults to <c>conflate</c>, the only policy whose memory is bounded by symbols alone.</summary>
    public string Policy { get; set; } = "conflate";

    /// <summary>
    /// Quotes a connection may have queued under <c>drop-oldest</c>, <c>drop-newest</c> and <c>disconnect</c>.
    /// Defaults to 1,024: a few seconds of a busy watchlist, about 200 KB per slow client at worst. 16 to 65,536.
    /// </summary>
    public int QueueCapacity { get; set; } = 1_024;

    /// <summary>Silence after which a <c>heartbeat</c> message goes out, in ms. Defaults to 5,000; 100 to 300,000.</summary>
    public int HeartbeatMs { get; set; } = 5_000;

    /// <summary>Interval of WebSocket protocol pings, in ms. Defaults to 15,000; 0 turns them off (not advised behind load balancers that cut idle TCP).</summary>
    public int KeepAliveIntervalMs { get; set; } = 15_000;

    /// <summary>
    /// How long a ping's pong may take before the connection is closed as dead, in ms. Defaults to 60,000: a
    /// client that has paused reading answers no ping, and under <c>conflate</c> a slow client must not be
    /// disconnected for being slow; only one that reads nothing for interval + timeout (75 s by default) is
    /// taken for dead. 0 never closes for a missing pong.
    /// </summary>
    public int KeepAliveTimeoutMs { get; set; } = 60_000;

    /// <summary>Largest client frame, in bytes; a larger one closes the connection with 1009. Defaults to 16 KiB: requests are small, and unlimited buffering is a risk with untrusted clients. 1 KiB to 1 MiB.</summary>
    public int MaxFrameBytes { get; set; } = 16 * 1024;

    /// <summary>Symbols one connection may hold; past it a subscribe gets <c>too_many_symbols</c>. Defaults to 500; 1 to 10,000.</summary>
    public int MaxSymbolsPerConnection { get; set; } = 500;

    /// <summary>
    /// Sustained client requests per second per connection, with bursts of twice that. A request over the rate
    /// is answered <c>rate_limited</c>; a connection that keeps going for as many more requests is closed with 4029.
    /// Defaults to 20; 1 to 10,000.
    /// </summary>
    public int MaxRequestsPerSecond { get; set; } = 20;

    /// <summary>Open connections per gateway; one more is accepted and closed with 1013. Defaults to 50,000; 1 to 1,000,000.</summary>
    public int MaxConnections { get; set; } = 50_000;

    /// <summary>
    /// On shutdown, the window over which connected clients are closed with 1001, spread evenly so that they
    /// do not all reconnect to the other replicas in the same moment. Defaults to 10 s; 0 to 600.
    /// </summary>
    public int DrainSeconds { get; set; } = 10;

    /// <summary>
    /// Once a connection is being closed, how long its last send and the close handshake may take before the
    /// socket is aborted, in ms. Defaults to 5,000; 100 to 60,000.
    /// </summary>
    public int CloseTimeoutMs { get; set; } = 5_000;

    /// <summary>
    /// Time a client has to send its whole HTTP request head (the WebSocket handshake), in ms; a client that
    /// trickles it (slowloris) is cut off. Defaults to 10,000; 1,000 to 120,000.
    /// </summary>
    public int HandshakeTimeoutMs { get; set; } = 10_000;

    /// <summary>
    /// Once a client frame has begun, the time the whole frame may take to arrive, in ms; past it the
    /// connection is closed with 1008, so a frame trickled byte by byte cannot hold a connection's receive
    /// path. Defaults to 10,000; 100 to 120,000.
    /// </summary>
    public int FrameTimeoutMs { get; set; } = 10_000;

    /// <summary>
    /// Whether a plain (non-TLS) connection's bytes go straight to its socket from the thread that sends them
    /// (<see cref="SocketOutput"/>), rather than through Kestrel's output pipe and a thread-pool thread that drains
    /// it. Defaults to true; false is the stock Kestrel path, kept as a switch for comparison and as a fallback.
    /// </summary>
    public bool DirectSocketWrites { get; set; } = true;

    /// <summary>
    /// Whether WebSocket connections may negotiate <c>permessage-deflate</c> (RFC 7692) when the client offers it
    /// (browsers and most libraries do). Defaults to true. No connection holds a deflater: <c>updates</c> frames are
    /// compressed by <see cref="QuoteDeflater"/>, which keeps only a position per symbol (the client keeps the
    /// window), and other messages by zlib deflaters the sending threads share. Per-connection zlib deflaters
    /// (about 230 KiB each) were tried and cost four times the CPU at 1,000 busy clients, their memory never in
    /// cache. Figures: the README's performance section.
    /// </summary>
    public bool Compression { get; set; } = true;

    /// <summary>
    /// Whether the server keeps its deflate context between messages (no <c>server_no_context_takeover</c> in the
    /// answer, unless the client asks for it), so each quote refers to the last one of its symbol that the client
    /// inflated. Defaults to true: on the <c>fanout</c> preset, 31.2 bytes per quote on the wire against 57.1 with
    /// every message compressed alone (load-tests/README.md, "Bandwidth"); the gateway's CPU per quote was about the
    /// same for both when the two were measured side by side. The client's inflater must keep its 32 KiB window
    /// between messages, as RFC 7692 requires by default; false compresses every message on its own.
    /// </summary>
    public bool CompressionContext { get; set; } = true;

    /// <summary>
    /// The zlib level of the messages other than <c>updates</c> (snapshots, replies) and of every message without
    /// the server's context, 1 (fastest) to 9 (smallest). Defaults to 1. Measured on recorded quote frames, each
    /// compressed alone: level 1 58 bytes per quote at 0.47 µs, level 2 43 at 1.1 µs, level 6 37 at 1.6 µs (plain
    /// JSON: 166 bytes).
    /// </summary>
    public int CompressionLevel { get; set; } = 1;

    /// <summary>
    /// A second port, for operators only: <c>/metrics</c> and <c>/healthz/*</c> are served there and nowhere else, and
    /// nothing else is served there (no board, no streams, no API). Unset (the default): one port serves everything.
    /// The gateway listens on it beside its configured URLs or HTTP ports, on the same interfaces. 1 to 65,535.
    /// </summary>
    public int? ManagementPort { get; set; }

    internal DeliveryPolicy DefaultPolicy => DeliveryPolicies.TryParse(Policy, out var p) ? p : DeliveryPolicy.Conflate;
}
