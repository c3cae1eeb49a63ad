using MarketStream.Contracts;
using MarketStream.Gateway.Market;
using MarketStream.Gateway.Security;
using MarketStream.Ingest;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// One client connection, transport-agnostic (WebSocket or SSE), made of three parts along the seams SignalR
/// uses: <see cref="SessionSubscriptions"/> (the slots and pending state the fan-out touches),
/// <see cref="SessionRequests"/> (what the client asks) and <see cref="SessionSender"/> (what goes out, when).
/// </summary>
/// <remarks>
/// Ordering: a subscribe registers the symbol, reads its snapshot and queues <c>subscribed</c> and
/// <c>snapshot</c> all under the session's lock, and replies always go out before pending updates, so an update
/// never precedes its snapshot. Versions settle the race between a subscribe and a tick: a quote not newer than
/// the snapshot is never sent, so <c>seq</c> strictly increases on the wire.
/// </remarks>
internal sealed class Session : IDisposable
{
    private readonly SessionSubscriptions subscriptions;
    private readonly SessionSender sender;
    private readonly SessionRequests requests;
    private readonly ITimer? expiryTimer;

    public Session(
        ISessionTransport transport,
        MarketState state,
        SubscriptionIndex index,
        GatewayOptions options,
        GatewayStats stats,
        TimeProvider time,
        ILogger logger,
        int throttleMs,
        DeliveryPolicy policy,
        SendScheduler scheduler,
        Entitlements? entitlements = null,
        DateTimeOffset? expiresAt = null,
        string? epoch = null,
        FeedState feed = default,
        bool delta = false)
    {
        Id = Guid.NewGuid().ToString("N");
        sender = new SessionSender(Id, transport, options, stats, time, logger, throttleMs, scheduler.Assign());
        subscriptions = new SessionSubscriptions(index, stats, options.QueueCapacity, policy, sender);
        sender.Attach(subscriptions);
        sender.Delta = delta;
        requests = new SessionRequests(Id, subscriptions, sender, state, options, entitlements ?? Entitlements.All, time, logger);

        // hello is the first message on every connection.
        lock (subscriptions.Gate)
        {
            sender.EnqueueLocked("hello", w => ServerMessages.Hello(w, Id, throttleMs, policy, options.HeartbeatMs, ServerMessages.UnixMicros(time.GetUtcNow()), epoch, delta));

            // Connecting while the feed is stale: said right after hello, so what the snapshot shows is not taken for live.
            if (feed.IsStale)
            {
                TellFeedLocked(feed);
            }
        }

        // A token's lifetime bounds the connection's: an expired token does not stream on.
        if (expiresAt is { } expiry)
        {
            var left = expiry - time.GetUtcNow();
            expiryTimer = time.CreateTimer(static s => ((Session)s!).BeginClose(CloseCodes.PolicyViolation, "token expired"), this,
                left > TimeSpan.Zero ? left : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        }
    }

    public string Id { get; }

    /// <summary>Where the session's messages go.</summary>
    public ISessionTransport Transport => sender.Transport;

    /// <summary>The code the session was closed with, once it is closing.</summary>
    public int? CloseCode
    {
        get
        {
            lock (subscriptions.Gate)
            {
                return sender.CloseCode;
            }
        }
    }

    /// <summary>Quotes waiting to be sent: bounded by the symbols (conflate) or the queue capacity (other policies).</summary>
    public int PendingCount
    {
        get
        {
            lock (subscriptions.Gate)
            {
                return subscriptions.PendingCount;
            }
        }
    }

    public int SymbolCount
    {
        get
        {
            lock (subscriptions.Gate)
            {
                return subscriptions.Count;
            }
        }
    }

    /// <summary>One text frame from the client.</summary>
    public void HandleFrame(ReadOnlySpan<byte> utf8) => requests.HandleFrame(utf8);

    /// <summary>The transport owes a frame of its own (a pong): the sender sends it on its next turn, soon.</summary>
    public void WakeSender() => sender.Wake();

    /// <summary>A binary frame from the client (not part of the protocol).</summary>
    public void HandleBinaryFrame() => requests.HandleBinaryFrame();

    /// <summary>Tells the client the feed turned stale or live again (a <c>status</c> message, in order with the rest).</summary>
    public void TellFeed(FeedState feed)
    {
        lock (subscriptions.Gate)
        {
            TellFeedLocked(feed);
        }
    }

    private void TellFeedLocked(FeedState feed)
    {
        long? since = feed.Since is { } at ? ServerMessages.UnixMicros(at) : null;
        sender.EnqueueLocked("status", w => ServerMessages.Status(w, feed.IsStale, since));
    }

    /// <summary>Starts an orderly close with <paramref name="code"/>.</summary>
    public void BeginClose(int code, string reason)
    {
        lock (subscriptions.Gate)
        {
            sender.BeginCloseLocked(code, reason);
        }
    }

    /// <summary>Starts the sender. The task completes once the connection is closed (orderly or not); it never faults.</summary>
    public Task RunAsync() => sender.RunAsync();

    /// <summary>Completes once the connection is closed, like the task <see cref="RunAsync"/> returned.</summary>
    public Task Completion => sender.Completion;

    public void Dispose()
    {
        expiryTimer?.Dispose();
        sender.Dispose();
    }
}
