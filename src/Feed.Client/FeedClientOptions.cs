using System.Net.WebSockets;
using MarketStream.Contracts;

namespace MarketStream.Client;

/// <summary>
/// Settings of a <see cref="FeedClient"/>. Every default lives here and only here; <see cref="Validate"/> runs
/// when the client is created, so a bad setting fails at once rather than misbehaving later.
/// </summary>
public sealed class FeedClientOptions
{
    /// <summary>
    /// The gateway: <c>ws://host:8080/ws</c>, or its HTTP base address (<c>http://host:8080</c>), to which
    /// <c>/ws</c> is added. Required. <c>http</c> maps to <c>ws</c> and <c>https</c> to <c>wss</c>.
    /// </summary>
    public Uri? Endpoint { get; set; }

    /// <summary>
    /// <c>throttleMs</c> asked for in the connect query string, 0 to 60,000. Defaults to null: the server's
    /// default (100 ms). <see cref="FeedClient.ConfigureAsync"/> changes it, and reconnects keep the change.
    /// </summary>
    public int? ThrottleMs { get; set; }

    /// <summary>
    /// <c>policy</c> asked for in the connect query string. Defaults to null: the server's default
    /// (<c>conflate</c>). <see cref="FeedClient.ConfigureAsync"/> changes it, and reconnects keep the change.
    /// </summary>
    public DeliveryPolicy? Policy { get; set; }

    /// <summary>
    /// Asks the server for changed-fields-only quotes (<c>delta=true</c>, the protocol's <c>delta</c> extension)
    /// and applies them, so every <see cref="QuoteUpdate.Quote"/> read is still the symbol's whole state. Defaults
    /// to true: fewer bytes, the same quotes.
    /// </summary>
    public bool Delta { get; set; } = true;

    /// <summary>
    /// Offers <c>permessage-deflate</c> (RFC 7692) on connect; the server compresses what it sends when it agrees.
    /// Defaults to true. <see cref="ConfigureWebSocket"/> runs after and may change or clear it.
    /// </summary>
    public bool Compression { get; set; } = true;

    /// <summary>Wait before the first reconnect attempt. Defaults to 250 ms; 1 ms to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Longest wait between reconnect attempts; the wait doubles per failed attempt up to this. Defaults to
    /// 10 s: long enough not to hammer a recovering gateway, short enough that a terminal resumes promptly.
    /// </summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Share of each backoff wait that is random, 0 to 1. Defaults to 0.5 (a wait is 50 % to 100 % of its
    /// nominal value), so the clients of a drained gateway do not all come back in the same instant.
    /// </summary>
    public double Jitter { get; set; } = 0.5;

    /// <summary>
    /// A connection is stale when nothing arrived for this many times the hello's <c>heartbeatMs</c>; it is
    /// then dropped and reconnected. Defaults to 2.5: one lost heartbeat is tolerated, two are not. 1.5 to 100.
    /// </summary>
    public double StaleFactor { get; set; } = 2.5;

    /// <summary>
    /// Most symbols with a quote waiting for the reader. The buffer keeps only the latest quote per symbol,
    /// so it holds at most one entry per subscribed symbol and this limit only matters past that many
    /// symbols. When it is reached the oldest waiting quote is discarded and counted in
    /// <see cref="FeedClientCounters.BufferDropped"/>. Defaults to 10,000 (the gateway allows 500 symbols
    /// per connection by default); 1 to 1,000,000.
    /// </summary>
    public int BufferCapacity { get; set; } = 10_000;

    /// <summary>Time for the WebSocket upgrade and the server's <c>hello</c>. Defaults to 10 s; 100 ms to 5 min.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time the close handshake may take on dispose before the socket is aborted. Defaults to 2 s; 0 to 1 min.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Largest server message accepted, in bytes; a larger one drops the connection (1009). Defaults to
    /// 4 MiB: a snapshot of 10,000 full quotes is about 2 MiB. 64 KiB to 256 MiB.
    /// </summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// A last say over each new socket, e.g. <c>o =&gt; o.SetRequestHeader("Authorization", "Bearer …")</c>.
    /// The subprotocol <c>marketstream.v1</c> is always offered.
    /// </summary>
    public Action<ClientWebSocketOptions>? ConfigureWebSocket { get; set; }

    /// <summary>
    /// The HTTP handler every connection's upgrade goes through, shared and never disposed by the client: a
    /// <see cref="System.Net.Http.SocketsHttpHandler"/> with its own <c>ConnectCallback</c> (to choose the local
    /// address or network interface, or resolve names another way), or any handler that can upgrade. Null: the
    /// WebSocket's own connection. With a handler, proxy, certificate and cookie settings belong on the handler,
    /// not in <see cref="ConfigureWebSocket"/>.
    /// </summary>
    public System.Net.Http.HttpMessageInvoker? HttpInvoker { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (Endpoint is null || !Endpoint.IsAbsoluteUri || Endpoint.Scheme is not ("ws" or "wss" or "http" or "https"))
        {
            throw new ArgumentException("Endpoint must be an absolute ws, wss, http or https URI.", nameof(Endpoint));
        }

        Check(ThrottleMs is null or (>= ThrottleLimits.MinMs and <= ThrottleLimits.MaxMs), nameof(ThrottleMs), "must be between 0 and 60000");
        Check(Policy is null || Enum.IsDefined(Policy.Value), nameof(Policy), "is not a known policy");
        Check(InitialBackoff >= TimeSpan.FromMilliseconds(1) && InitialBackoff <= MaxBackoff, nameof(InitialBackoff), "must be at least 1 ms and at most MaxBackoff");
        Check(MaxBackoff <= TimeSpan.FromHours(1), nameof(MaxBackoff), "must be at most 1 hour");
        Check(Jitter is >= 0 and <= 1, nameof(Jitter), "must be between 0 and 1");
        Check(StaleFactor is >= 1.5 and <= 100, nameof(StaleFactor), "must be between 1.5 and 100");
        Check(BufferCapacity is >= 1 and <= 1_000_000, nameof(BufferCapacity), "must be between 1 and 1000000");
        Check(ConnectTimeout >= TimeSpan.FromMilliseconds(100) && ConnectTimeout <= TimeSpan.FromMinutes(5), nameof(ConnectTimeout), "must be between 100 ms and 5 min");
        Check(CloseTimeout >= TimeSpan.Zero && CloseTimeout <= TimeSpan.FromMinutes(1), nameof(CloseTimeout), "must be between 0 and 1 min");
        Check(MaxMessageBytes is >= 64 * 1024 and <= 256 * 1024 * 1024, nameof(MaxMessageBytes), "must be between 64 KiB and 256 MiB");
    }

    private static void Check(bool ok, string name, string rule)
    {
        if (!ok)
        {
            throw new ArgumentException($"FeedClientOptions.{name} {rule}.", name);
        }
    }
}
