using System.Buffers;
using System.Text.Json;
using MarketStream.Contracts;
using MarketStream.Gateway.Market;
using MarketStream.Gateway.Security;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// One client connection's state and its sender: subscriptions, the pending quotes of its policy, the replies
/// it owes, its throttle and heartbeat. Transport-agnostic (WebSocket or SSE).
/// </summary>
/// <remarks>
/// <para>Three parties touch a session. The fan-out (market state thread) calls <see cref="OnQuote"/>, which only
/// merges into the pending state under the session lock and perhaps wakes the sender: it never waits on the
/// client. The receive loop calls <see cref="HandleFrame"/>, which queues replies. The sender loop
/// (<see cref="RunAsync"/>) is the only one that writes to the transport, one message at a time; while a send is
/// in flight, new quotes merge into the pending state, so a slow client gets fewer, fuller frames.</para>
/// <para>Ordering: a subscribe registers the symbol, reads its snapshot and queues <c>subscribed</c> and
/// <c>snapshot</c> all under the session lock, and replies always go out before pending updates, so an update
/// never precedes its snapshot. Per symbol the session remembers the last <c>seq</c> it has handed on and
/// ignores anything not newer, so <c>seq</c> strictly increases on the wire.</para>
/// </remarks>
internal sealed partial class Session : IDisposable
{
    private readonly Lock gate = new();
    private readonly ISessionTransport transport;
    private readonly MarketState state;
    private readonly SubscriptionIndex index;
    private readonly GatewayOptions options;
    private readonly GatewayStats stats;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly RequestRateLimiter rateLimiter;
    private readonly AsyncSignal signal = new();
    private readonly ITimer wakeTimer;
    private readonly CancellationTokenSource aborted = new();
    private readonly Entitlements entitlements;
    private readonly ITimer? expiryTimer;

    // Guarded by gate.
    private readonly Dictionary<string, long> subscriptions = new(StringComparer.Ordinal);
    private readonly Queue<Reply> replies = new();
    private IPendingQuotes pending;
    private DeliveryPolicy policy;
    private int throttleMs;
    private bool senderIdle;
    private bool closing;
    private int closeCode;
    private string closeReason = string.Empty;
    private ITimer? abortTimer;

    // Owned by the sender loop.
    private readonly List<PendingQuote> batch = [];
    private readonly PooledFrameBuffer frameBuffer = new();
    private readonly Utf8JsonWriter frameWriter;
    private long lastSentAt;
    private long lastUpdatesAt;
    private bool anyUpdatesSent;

    // Owned by the receive loop.
    private int consecutiveRejected;

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
        Entitlements? entitlements = null,
        DateTimeOffset? expiresAt = null)
    {
        this.transport = transport;
        this.state = state;
        this.index = index;
        this.options = options;
        this.stats = stats;
        this.time = time;
        this.logger = logger;
        this.throttleMs = throttleMs;
        this.policy = policy;
        pending = IPendingQuotes.Create(policy, options.QueueCapacity);
        rateLimiter = new RequestRateLimiter(time, options.MaxRequestsPerSecond);
        frameWriter = new Utf8JsonWriter(frameBuffer, ServerMessages.WriterOptions);
        wakeTimer = time.CreateTimer(static s => ((AsyncSignal)s!).Set(), signal, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        this.entitlements = entitlements ?? Entitlements.All;
        Id = Guid.NewGuid().ToString("N");

        // A token's lifetime bounds the connection's: an expired token does not stream on.
        if (expiresAt is { } expiry)
        {
            expiryTimer = time.CreateTimer(static s => ((Session)s!).BeginClose(CloseCodes.PolicyViolation, "token expired"), this,
                Max(expiry - time.GetUtcNow(), TimeSpan.Zero), Timeout.InfiniteTimeSpan);
        }

        lastSentAt = time.GetTimestamp();

        // hello is the first message on every connection.
        Enqueue(Reply.Build("hello", w => ServerMessages.Hello(w, Id, throttleMs, policy, options.HeartbeatMs, Now())));
    }

    public string Id { get; }

    /// <summary>The code the session was closed with, once it is closing.</summary>
    public int? CloseCode
    {
        get
        {
            lock (gate)
            {
                return closing ? closeCode : null;
            }
        }
    }

    /// <summary>Quotes waiting to be sent: bounded by the symbols (conflate) or the queue capacity (other policies).</summary>
    public int PendingCount
    {
        get
        {
            lock (gate)
            {
                return pending.Count;
            }
        }
    }

    public int SymbolCount
    {
        get
        {
            lock (gate)
            {
                return subscriptions.Count;
            }
        }
    }

    /// <summary>A new quote from the fan-out. Never blocks on the client.</summary>
    public void OnQuote(Quote quote)
    {
        bool wake;
        lock (gate)
        {
            if (closing || !subscriptions.TryGetValue(quote.Symbol, out var lastSeq) || quote.Seq <= lastSeq)
            {
                return;
            }

            subscriptions[quote.Symbol] = quote.Seq;
            switch (pending.Add(quote))
            {
                case AddResult.Conflated:
                    stats.QuoteConflated();
                    break;
                case AddResult.Dropped:
                    stats.QuoteDropped(policy);
                    break;
                case AddResult.Overflow:
                    stats.QuoteDropped(policy);
                    BeginCloseLocked(CloseCodes.SlowConsumer, "slow consumer: queue full under policy disconnect");
                    return;
            }

            // Wake the sender only if it sleeps for want of data; one sleeping on its throttle wakes on its timer.
            wake = senderIdle;
            senderIdle = false;
        }

        if (wake)
        {
            signal.Set();
        }
    }

    /// <summary>One text frame from the client: a request, answered by queueing replies.</summary>
    public void HandleFrame(ReadOnlySpan<byte> utf8)
    {
        if (!WithinRate(utf8))
        {
            return;
        }

        var request = ClientRequestParser.Parse(utf8, out var error);
        if (request is null)
        {
            LogBadRequest(logger, Id, error!.Message);
            EnqueueError(error.Id, ErrorCodes.BadRequest, error.Message);
            return;
        }

        switch (request.Op)
        {
            case ClientOp.Subscribe:
                Subscribe(request);
                break;
            case ClientOp.Unsubscribe:
                Unsubscribe(request);
                break;
            case ClientOp.Configure:
                Configure(request);
                break;
            case ClientOp.Ping:
                Enqueue(Reply.Build("pong", w => ServerMessages.Pong(w, request.Id, Now())));
                break;
        }
    }

    /// <summary>A frame the protocol does not allow (binary): answered with <c>bad_request</c>.</summary>
    public void HandleBinaryFrame()
    {
        if (WithinRate(default))
        {
            EnqueueError(default, ErrorCodes.BadRequest, "binary frames are not part of the protocol; send text frames holding JSON");
        }
    }

    /// <summary>
    /// Every client frame counts against the request rate. Over it, the frame is refused with
    /// <c>rate_limited</c>; a client that keeps going regardless is closed with 4029.
    /// </summary>
    private bool WithinRate(ReadOnlySpan<byte> utf8)
    {
        if (rateLimiter.TryAcquire())
        {
            consecutiveRejected = 0;
            return true;
        }

        if (++consecutiveRejected > options.MaxRequestsPerSecond)
        {
            BeginClose(CloseCodes.TooManyRequests, "too many requests");
            return false;
        }

        var id = ClientRequestParser.Parse(utf8, out var bad)?.Id ?? bad?.Id ?? default;
        EnqueueError(id, ErrorCodes.RateLimited, $"more than {options.MaxRequestsPerSecond} requests per second");
        return false;
    }

    /// <summary>Starts an orderly close: the sender finishes its current message, then closes with <paramref name="code"/>.</summary>
    public void BeginClose(int code, string reason)
    {
        lock (gate)
        {
            BeginCloseLocked(code, reason);
        }
    }

    /// <summary>The sender loop. Completes once the connection is closed (orderly or not); never throws.</summary>
    public async Task RunAsync()
    {
        try
        {
            await SendLoopAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.Net.WebSockets.WebSocketException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The transport failed or was aborted: the client is gone, without a close handshake.
            BeginClose(CloseCodes.Abnormal, "connection lost");
            LogSendFailed(logger, Id, ex.Message);
            transport.Abort();
        }
        finally
        {
            ReleaseSubscriptions();
        }

        int code;
        string reason;
        lock (gate)
        {
            code = closeCode;
            reason = closeReason;
        }

        try
        {
            await transport.CloseAsync(code, reason, aborted.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.Net.WebSockets.WebSocketException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            transport.Abort();
        }

        LogClosed(logger, Id, code, reason);
    }

    private async Task SendLoopAsync()
    {
        while (true)
        {
            Reply? reply = null;
            var sendUpdates = false;
            TimeSpan wait;
            lock (gate)
            {
                // Replies already owed (an error explaining the close, say) still go out first.
                if (closing && replies.Count == 0)
                {
                    return;
                }

                var now = time.GetTimestamp();
                var sinceSent = time.GetElapsedTime(lastSentAt, now);
                var untilHeartbeat = TimeSpan.FromMilliseconds(options.HeartbeatMs) - sinceSent;
                var untilThrottle = anyUpdatesSent
                    ? TimeSpan.FromMilliseconds(throttleMs) - time.GetElapsedTime(lastUpdatesAt, now)
                    : TimeSpan.Zero;

                if (replies.Count > 0)
                {
                    reply = replies.Dequeue();
                    wait = TimeSpan.Zero;
                }
                else if (closing)
                {
                    return;
                }
                else if (pending.Count > 0 && untilThrottle <= TimeSpan.Zero)
                {
                    pending.DrainTo(batch);
                    sendUpdates = true;
                    wait = TimeSpan.Zero;
                }
                else if (untilHeartbeat <= TimeSpan.Zero)
                {
                    reply = Reply.Build("heartbeat", w => ServerMessages.Heartbeat(w, Now()));
                    wait = TimeSpan.Zero;
                }
                else
                {
                    senderIdle = pending.Count == 0;
                    wait = senderIdle ? untilHeartbeat : TimeSpan.FromTicks(Math.Min(untilThrottle.Ticks, untilHeartbeat.Ticks));
                }
            }

            if (reply is not null)
            {
                await SendAsync(reply.Value.Bytes, reply.Value.Type).ConfigureAwait(false);
            }
            else if (sendUpdates)
            {
                await SendUpdatesAsync().ConfigureAwait(false);
            }
            else
            {
                wakeTimer.Change(wait, Timeout.InfiniteTimeSpan);
                await signal.WaitAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task SendUpdatesAsync()
    {
        lastUpdatesAt = time.GetTimestamp();
        anyUpdatesSent = true;
        frameWriter.Reset(frameBuffer);
        ServerMessages.BeginUpdates(frameWriter);
        foreach (var item in batch)
        {
            QuoteWriter.Write(frameWriter, item.Quote, item.Conflated, item.Dropped);
        }

        ServerMessages.EndUpdates(frameWriter);
        frameWriter.Flush();
        stats.QuotesDelivered(batch, Now());
        batch.Clear();
        try
        {
            await SendAsync(frameBuffer.WrittenMemory, "updates").ConfigureAwait(false);
        }
        finally
        {
            frameBuffer.Release();
        }
    }

    private async Task SendAsync(ReadOnlyMemory<byte> message, string type)
    {
        var started = time.GetTimestamp();
        await transport.SendAsync(message, type, aborted.Token).ConfigureAwait(false);
        lastSentAt = time.GetTimestamp();
        stats.FrameSent(type, message.Length, time.GetElapsedTime(started, lastSentAt));
    }

    private void Subscribe(ClientRequest request)
    {
        var (valid, invalid) = Normalize(request.Symbols);
        var forbidden = valid.Where(s => !entitlements.Allows(s)).ToList();
        valid.RemoveAll(forbidden.Contains);
        lock (gate)
        {
            if (closing)
            {
                return;
            }

            var added = valid.Where(s => !subscriptions.ContainsKey(s)).ToList();
            if (subscriptions.Count + added.Count > options.MaxSymbolsPerConnection)
            {
                EnqueueLocked(Reply.Build("error", w => ServerMessages.Error(w, request.Id, ErrorCodes.TooManySymbols,
                    $"a connection may hold at most {options.MaxSymbolsPerConnection} symbols; it holds {subscriptions.Count} and this request adds {added.Count}", added)));
                EnqueueInvalidLocked(request.Id, invalid);
                return;
            }

            var snapshot = new List<Quote>(added.Count);
            foreach (var symbol in added)
            {
                // Register first, then read the state: a tick merged in between either shows in the snapshot
                // or reaches OnQuote (which waits on this lock) with a newer seq. Nothing is lost or doubled.
                index.Add(symbol, this);
                if (state.TryGet(symbol, out var quote))
                {
                    subscriptions[symbol] = quote.Seq;
                    snapshot.Add(quote);
                }
                else
                {
                    subscriptions[symbol] = 0;
                }
            }

            if (valid.Count > 0 || (invalid.Count == 0 && forbidden.Count == 0))
            {
                EnqueueLocked(Reply.Build("subscribed", w => ServerMessages.Subscribed(w, request.Id, valid)));
                EnqueueLocked(Reply.Build("snapshot", w => ServerMessages.Snapshot(w, snapshot)));
            }

            EnqueueInvalidLocked(request.Id, invalid);
            if (forbidden.Count > 0)
            {
                var message = $"not entitled to {string.Join(", ", forbidden.Select(s => $"'{s}'"))}";
                EnqueueLocked(Reply.Build("error", w => ServerMessages.Error(w, request.Id, ErrorCodes.Forbidden, message, forbidden)));
            }
        }

        signal.Set();
    }

    private void Unsubscribe(ClientRequest request)
    {
        var (valid, invalid) = Normalize(request.Symbols);
        lock (gate)
        {
            if (closing)
            {
                return;
            }

            foreach (var symbol in valid)
            {
                if (subscriptions.Remove(symbol))
                {
                    index.Remove(symbol, this);
                    pending.Remove(symbol);
                }
            }

            if (valid.Count > 0 || invalid.Count == 0)
            {
                EnqueueLocked(Reply.Build("unsubscribed", w => ServerMessages.Unsubscribed(w, request.Id, valid)));
            }

            EnqueueInvalidLocked(request.Id, invalid);
        }

        signal.Set();
    }

    private void ReleaseSubscriptions()
    {
        lock (gate)
        {
            foreach (var symbol in subscriptions.Keys)
            {
                index.Remove(symbol, this);
            }

            subscriptions.Clear();
            pending.DrainTo(batch);
            batch.Clear();
        }
    }

    private void Configure(ClientRequest request)
    {
        lock (gate)
        {
            throttleMs = request.ThrottleMs ?? throttleMs;
            if (request.Policy is { } newPolicy && newPolicy != policy)
            {
                // Carry what is pending over to the new policy's buffer, oldest first.
                var carried = new List<PendingQuote>(pending.Count);
                pending.DrainTo(carried);
                policy = newPolicy;
                pending = IPendingQuotes.Create(newPolicy, options.QueueCapacity);
                foreach (var item in carried)
                {
                    switch (pending.Carry(item))
                    {
                        case AddResult.Conflated:
                            stats.QuoteConflated();
                            break;
                        case AddResult.Dropped:
                            stats.QuoteDropped(newPolicy);
                            break;
                    }
                }
            }

            var (t, p) = (throttleMs, policy);
            EnqueueLocked(Reply.Build("configured", w => ServerMessages.Configured(w, request.Id, t, p)));
        }

        signal.Set();
    }

    private static (List<string> Valid, List<string> Invalid) Normalize(IReadOnlyList<string> symbols)
    {
        var valid = new List<string>(symbols.Count);
        var invalid = new List<string>();
        foreach (var raw in symbols)
        {
            if (!Symbols.TryNormalize(raw, out var symbol))
            {
                invalid.Add(raw.Length <= 64 ? raw : raw[..64]);
            }
            else if (!valid.Contains(symbol))
            {
                valid.Add(symbol);
            }
        }

        return (valid, invalid);
    }

    private void EnqueueInvalidLocked(RequestId id, List<string> invalid)
    {
        if (invalid.Count == 0)
        {
            return;
        }

        var message = invalid.Count == 1
            ? $"'{invalid[0]}' is not a valid symbol"
            : $"{string.Join(", ", invalid.Select(s => $"'{s}'"))} are not valid symbols";
        EnqueueLocked(Reply.Build("error", w => ServerMessages.Error(w, id, ErrorCodes.InvalidSymbol, message, invalid)));
    }

    private void EnqueueError(RequestId id, string code, string message) =>
        Enqueue(Reply.Build("error", w => ServerMessages.Error(w, id, code, message)));

    private void Enqueue(Reply reply)
    {
        lock (gate)
        {
            EnqueueLocked(reply);
        }

        signal.Set();
    }

    private void EnqueueLocked(Reply reply)
    {
        if (closing)
        {
            return;
        }

        // Replies are bounded by the request rate limit; this cap only guards against a client that never
        // reads while sending requests within the rate for a long time.
        if (replies.Count >= 4 * options.MaxRequestsPerSecond + 16)
        {
            BeginCloseLocked(CloseCodes.PolicyViolation, "replies not read");
            return;
        }

        replies.Enqueue(reply);
    }

    private void BeginCloseLocked(int code, string reason)
    {
        if (closing)
        {
            return;
        }

        closing = true;
        closeCode = code;
        closeReason = reason;

        // The last send and the close handshake get a bounded time; a client that reads nothing is cut off.
        abortTimer = time.CreateTimer(static s => ((Session)s!).Abort(), this, TimeSpan.FromMilliseconds(options.CloseTimeoutMs), Timeout.InfiniteTimeSpan);
        signal.Set();
    }

    private void Abort()
    {
        try
        {
            aborted.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already finished.
        }

        transport.Abort();
    }

    private long Now() => ServerMessages.UnixMicros(time.GetUtcNow());

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    public void Dispose()
    {
        expiryTimer?.Dispose();
        wakeTimer.Dispose();
        abortTimer?.Dispose();
        aborted.Dispose();
        frameWriter.Dispose();
        frameBuffer.Release();
    }

    /// <summary>A reply, serialized when queued (it reflects the state at the time of the request).</summary>
    private readonly record struct Reply(byte[] Bytes, string Type)
    {
        public static Reply Build(string type, Action<Utf8JsonWriter> write)
        {
            var buffer = new ArrayBufferWriter<byte>(256);
            using (var writer = new Utf8JsonWriter(buffer, ServerMessages.WriterOptions))
            {
                write(writer);
            }

            return new Reply(buffer.WrittenSpan.ToArray(), type);
        }
    }

    [LoggerMessage(EventId = 500, Level = LogLevel.Debug, Message = "Session {SessionId}: bad request: {Reason}")]
    private static partial void LogBadRequest(ILogger logger, string sessionId, string reason);

    [LoggerMessage(EventId = 501, Level = LogLevel.Debug, Message = "Session {SessionId}: send failed: {Reason}")]
    private static partial void LogSendFailed(ILogger logger, string sessionId, string reason);

    [LoggerMessage(EventId = 502, Level = LogLevel.Debug, Message = "Session {SessionId} closed with {CloseCode} ({Reason})")]
    private static partial void LogClosed(ILogger logger, string sessionId, int closeCode, string reason);
}
