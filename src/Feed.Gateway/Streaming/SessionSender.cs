using System.Buffers;
using System.Text.Json;
using MarketStream.Contracts;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// The one writer of a connection (like SignalR's <c>HubConnectionContext</c>): owns the replies the session
/// owes, the throttle, the heartbeat, the frame buffer and the close. One loop sends one message at a time;
/// while a send is in flight, new quotes merge into the pending state, so a slow client gets fewer, fuller
/// frames (DESIGN.md decision 5). The loop never throws: a failed send ends this connection only.
/// </summary>
internal sealed partial class SessionSender : IDisposable
{
    private readonly ISessionTransport transport;
    private readonly SessionSubscriptions subscriptions;
    private readonly GatewayOptions options;
    private readonly GatewayStats stats;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly string sessionId;
    private readonly AsyncSignal signal = new();
    private readonly ITimer wakeTimer;
    private readonly CancellationTokenSource aborted = new();

    // Guarded by the session's gate.
    private readonly Queue<Reply> replies = new();
    private bool closing;
    private int closeCode;
    private string closeReason = string.Empty;
    private ITimer? abortTimer;

    // 1 while the loop sleeps for want of data: it is woken only then (a sender waiting on its throttle wakes on
    // its timer), so a busy session costs no wake-up per tick.
    private int idle;

    // Owned by the loop.
    private readonly List<OutgoingQuote> batch = [];
    private readonly PooledFrameBuffer frameBuffer = new();
    private long lastSentAt;
    private long lastUpdatesAt;
    private bool anyUpdatesSent;

    public SessionSender(
        string sessionId,
        ISessionTransport transport,
        SessionSubscriptions subscriptions,
        GatewayOptions options,
        GatewayStats stats,
        TimeProvider time,
        ILogger logger,
        int throttleMs)
    {
        this.sessionId = sessionId;
        this.transport = transport;
        this.subscriptions = subscriptions;
        this.options = options;
        this.stats = stats;
        this.time = time;
        this.logger = logger;
        ThrottleMs = throttleMs;
        wakeTimer = time.CreateTimer(static s => ((AsyncSignal)s!).Set(), signal, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        lastSentAt = time.GetTimestamp();
    }

    /// <summary>Least time between two <c>updates</c> frames. Under the session's gate.</summary>
    public int ThrottleMs { get; set; }

    /// <summary>The close code, once closing. Under the session's gate.</summary>
    public int? CloseCode => closing ? closeCode : null;

    public bool IsClosing => closing;

    private Lock Gate => subscriptions.Gate;

    /// <summary>Something to send arrived (a tick for a parked session, a first quote queued): wake the loop if it sleeps for want of data.</summary>
    public void OnDirty()
    {
        if (Interlocked.Exchange(ref idle, 0) == 1)
        {
            signal.Set();
        }
    }

    /// <summary>Wakes the loop (a reply was queued, the settings changed).</summary>
    public void Wake() => signal.Set();

    /// <summary>Queues a reply, built from the state at the time of the request. Under the session's gate.</summary>
    public void EnqueueLocked(string type, Action<Utf8JsonWriter> write)
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

        replies.Enqueue(Reply.Build(type, write));
    }

    /// <summary>Starts an orderly close: the loop finishes its current message and owed replies, then closes with <paramref name="code"/>.</summary>
    public void BeginCloseLocked(int code, string reason)
    {
        if (closing)
        {
            return;
        }

        closing = true;
        closeCode = code;
        closeReason = reason;

        // Nothing more is pending once closing: the fan-out stops reaching this session now, not when it ends.
        subscriptions.ReleaseAll();

        // The last send and the close handshake get a bounded time; a client that reads nothing is cut off.
        abortTimer = time.CreateTimer(static s => ((SessionSender)s!).Abort(), this, TimeSpan.FromMilliseconds(options.CloseTimeoutMs), Timeout.InfiniteTimeSpan);
        signal.Set();
    }

    /// <summary>Runs the loop, then closes the transport. Completes once the connection is closed; never throws.</summary>
    public async Task RunAsync()
    {
        try
        {
            await SendLoopAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The transport failed or was aborted: the client is gone, without a close handshake. Anything else
            // is a fault of this connection alone; it ends it and nothing more.
            var expected = ex is OperationCanceledException or System.Net.WebSockets.WebSocketException or IOException or ObjectDisposedException or InvalidOperationException;
            lock (Gate)
            {
                BeginCloseLocked(expected ? CloseCodes.Abnormal : CloseCodes.InternalError, expected ? "connection lost" : "server error");
            }

            if (expected)
            {
                LogSendFailed(logger, sessionId, ex.Message);
            }
            else
            {
                LogSendFault(logger, ex, sessionId);
            }

            transport.Abort();
        }

        int code;
        string reason;
        lock (Gate)
        {
            subscriptions.ReleaseAll();
            code = closeCode;
            reason = closeReason;
        }

        try
        {
            await transport.CloseAsync(code, reason, aborted.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            transport.Abort();
        }

        LogClosed(logger, sessionId, code, reason);
    }

    private async Task SendLoopAsync()
    {
        while (true)
        {
            Reply? reply = null;
            var conflatedTicks = -1;
            TimeSpan wait;
            lock (Gate)
            {
                // Replies already owed (an error explaining the close, say) still go out first.
                if (closing && replies.Count == 0)
                {
                    return;
                }

                var now = time.GetTimestamp();
                var untilHeartbeat = TimeSpan.FromMilliseconds(options.HeartbeatMs) - time.GetElapsedTime(lastSentAt, now);
                var untilThrottle = anyUpdatesSent
                    ? TimeSpan.FromMilliseconds(ThrottleMs) - time.GetElapsedTime(lastUpdatesAt, now)
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
                else if (untilThrottle <= TimeSpan.Zero && (conflatedTicks = TakeOrPark()) >= 0)
                {
                    wait = TimeSpan.Zero;
                }
                else if (untilHeartbeat <= TimeSpan.Zero)
                {
                    reply = Reply.Build("heartbeat", w => ServerMessages.Heartbeat(w, Now()));
                    wait = TimeSpan.Zero;
                }
                else
                {
                    // Within the throttle: sleep until it expires, then look (quotes are read when the frame is
                    // due, not handed over per tick). Parked: sleep until a tick wakes the loop, or the heartbeat.
                    wait = untilThrottle > TimeSpan.Zero && untilThrottle < untilHeartbeat ? untilThrottle : untilHeartbeat;
                }
            }

            if (reply is not null)
            {
                await SendAsync(reply.Value.Bytes, reply.Value.Type).ConfigureAwait(false);
            }
            else if (conflatedTicks >= 0)
            {
                if (batch.Count > 0)
                {
                    await SendUpdatesAsync(conflatedTicks).ConfigureAwait(false);
                }
            }
            else if (wait > TimeSpan.Zero)
            {
                wakeTimer.Change(wait, Timeout.InfiniteTimeSpan);
                await signal.WaitAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Takes what is pending into the batch and returns the ticks conflated into it; with nothing pending, parks
    /// (the writer wakes the loop on the next tick of a subscribed symbol) and returns -1. Under the gate.
    /// </summary>
    private int TakeOrPark()
    {
        var conflatedTicks = subscriptions.TakePending(batch);
        if (batch.Count > 0)
        {
            return conflatedTicks;
        }

        // Announce the sleep, then look again: a tick that came in between either shows here or finds the
        // session parked (or the flag set) and wakes the loop.
        var parked = subscriptions.Park();
        Interlocked.Exchange(ref idle, 1);
        conflatedTicks = subscriptions.TakePending(batch);
        if (batch.Count > 0)
        {
            if (parked)
            {
                subscriptions.CancelPark();
            }

            Interlocked.Exchange(ref idle, 0);
            return conflatedTicks;
        }

        return -1;
    }

    /// <summary>One <c>updates</c> frame: each quote's shared body spliced in, with this client's own counts.</summary>
    private async Task SendUpdatesAsync(int conflatedTicks)
    {
        lastUpdatesAt = time.GetTimestamp();
        anyUpdatesSent = true;
        var oldestTs = long.MaxValue;
        frameBuffer.Write("{\"type\":\"updates\",\"quotes\":["u8);
        for (var i = 0; i < batch.Count; i++)
        {
            var item = batch[i];
            if (i > 0)
            {
                frameBuffer.Write(","u8);
            }

            QuoteWriter.WriteSpliced(frameBuffer, item.Quote, item.Conflated, item.Dropped);
            oldestTs = Math.Min(oldestTs, item.Quote.Ts);
        }

        frameBuffer.Write("]}"u8);
        var count = batch.Count;
        batch.Clear();
        try
        {
            await SendAsync(frameBuffer.WrittenMemory, "updates").ConfigureAwait(false);
        }
        finally
        {
            frameBuffer.Release();
        }

        stats.UpdatesSent(count, conflatedTicks, oldestTs, Now());
    }

    private async Task SendAsync(ReadOnlyMemory<byte> message, string type)
    {
        var started = time.GetTimestamp();
        await transport.SendAsync(message, type, aborted.Token).ConfigureAwait(false);
        lastSentAt = time.GetTimestamp();
        stats.FrameSent(type, message.Length, time.GetElapsedTime(started, lastSentAt));
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

    public void Dispose()
    {
        wakeTimer.Dispose();
        abortTimer?.Dispose();
        aborted.Dispose();
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

    [LoggerMessage(EventId = 501, Level = LogLevel.Debug, Message = "Session {SessionId}: send failed: {Reason}")]
    private static partial void LogSendFailed(ILogger logger, string sessionId, string reason);

    [LoggerMessage(EventId = 502, Level = LogLevel.Debug, Message = "Session {SessionId} closed with {CloseCode} ({Reason})")]
    private static partial void LogClosed(ILogger logger, string sessionId, int closeCode, string reason);

    [LoggerMessage(EventId = 503, Level = LogLevel.Error, Message = "Session {SessionId}: unexpected fault in the sender; the connection is closed")]
    private static partial void LogSendFault(ILogger logger, Exception exception, string sessionId);
}
