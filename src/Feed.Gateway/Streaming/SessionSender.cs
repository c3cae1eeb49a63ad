using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using MarketStream.Contracts;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// The one writer of a connection (like SignalR's <c>HubConnectionContext</c>): owns the replies the session
/// owes, the throttle, the heartbeat, the frame buffer and the close. One loop sends one message at a time;
/// while a send is in flight, new quotes merge into the pending state, so a slow client gets fewer, fuller
/// frames (DESIGN.md decision 5). The loop never throws: a failed send ends this connection only.
/// </summary>
internal sealed partial class SessionSender : ISessionSignals, IScheduledSender, IDisposable
{
    private readonly ISessionTransport transport;
    private SessionSubscriptions subscriptions = null!;
    private readonly GatewayOptions options;
    private readonly GatewayStats stats;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly string sessionId;
    private readonly ISendLane lane;
    private readonly TaskCompletionSource completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int throttleMs;

    // Made when the close begins: only the close handshake can be cancelled (by the abort timer).
    private CancellationTokenSource? aborted;

    // Guarded by the session's gate. Made on first use, like the batch below: an idle connection carries neither.
    private Queue<Reply>? replies;
    private bool closing;
    private int closeCode;
    private string closeReason = string.Empty;
    private ITimer? abortTimer;

    // 1 while the sender sleeps for want of data: it is woken only then (a sender waiting on its throttle wakes at
    // its deadline), so a busy session costs no wake-up per tick.
    private int idle;

    // Where the sender is: waiting (for a deadline or a wake-up), queued on its lane, running a step there,
    // awaiting a send that could not complete at once, or done. Only a waiting sender is queued by a wake-up.
    private const int Waiting = 0;
    private const int Queued = 1;
    private const int Running = 2;
    private const int Sending = 3;
    private const int Done = 4;
    private int state = Queued;
    private int wakeRequested;

    // The deadline entry on the lane that is still live (owned by the step, read by the lane thread).
    private long generation;
    private long scheduledDue = long.MaxValue;
    private bool liveEntry;

    // Owned by the step.
    private List<OutgoingQuote>? batch;
    private readonly PooledFrameBuffer frameBuffer;

    // The quotes of the frame being built, where the transport compresses each against the last of its symbol.
    private readonly List<QuoteSpan>? spans;
    private long lastSentAt;
    private long sendStarted;
    private string sendType = string.Empty;
    private int sendBytes;
    private int sendQuotes;
    private int sendConflated;
    private long sendOldestTs;
    private long lastUpdatesAt;
    private bool anyUpdatesSent;

    public SessionSender(
        string sessionId,
        ISessionTransport transport,
        GatewayOptions options,
        GatewayStats stats,
        TimeProvider time,
        ILogger logger,
        int throttleMs,
        ISendLane lane)
    {
        this.lane = lane;
        this.sessionId = sessionId;
        this.transport = transport;
        this.options = options;
        this.stats = stats;
        this.time = time;
        this.logger = logger;
        ThrottleMs = throttleMs;
        lastSentAt = time.GetTimestamp();
        frameBuffer = new PooledFrameBuffer(transport.FrameRoom);
        spans = transport.WantsQuoteSpans ? [] : null;
    }

    /// <summary>Connects the sender to the subscription state it sends from (made after it, as it signals the sender).</summary>
    public void Attach(SessionSubscriptions state)
    {
        subscriptions = state;
        state.SetThrottle(throttleMs);
    }

    public ISessionTransport Transport => transport;

    /// <summary>Least time between two <c>updates</c> frames. Under the session's gate.</summary>
    public int ThrottleMs
    {
        get => throttleMs;
        set
        {
            throttleMs = value;
            subscriptions?.SetThrottle(value);
        }
    }

    /// <summary>
    /// The <c>delta</c> extension: quotes in <c>updates</c> carry only the fields that changed since the client's
    /// last quote of the symbol. Under the session's gate; a batch is written in the mode it was taken in, so a
    /// frame taken before <c>configured</c> is queued keeps the old mode and goes out before it.
    /// </summary>
    public bool Delta { get; set; }

    // The mode of the batch being written (set with the batch, under the gate).
    private bool batchDelta;

    /// <summary>The close code, once closing. Under the session's gate.</summary>
    public int? CloseCode => closing ? closeCode : null;

    public bool IsClosing => closing;

    private Lock Gate => subscriptions.Gate;

    /// <summary>Something to send arrived (a tick for a parked session, a first quote queued): wake the loop if it sleeps for want of data.</summary>
    void ISessionSignals.OnOverflowLocked() => BeginCloseLocked(CloseCodes.SlowConsumer, "slow consumer: queue full under policy disconnect");

    public void OnDirty()
    {
        if (Interlocked.Exchange(ref idle, 0) == 1)
        {
            Wake();
        }
    }

    /// <summary>Wakes the sender (a reply was queued, the settings changed): it runs a step on its lane soon.</summary>
    public void Wake()
    {
        Interlocked.Exchange(ref wakeRequested, 1);
        if (Interlocked.CompareExchange(ref state, Queued, Waiting) == Waiting)
        {
            lane.Ready(this);
        }
    }

    /// <summary>Queues a reply, built from the state at the time of the request. Under the session's gate.</summary>
    public void EnqueueLocked(string type, Action<Utf8JsonWriter> write)
    {
        if (closing)
        {
            return;
        }

        // Replies are bounded by the request rate limit; this cap only guards against a client that never
        // reads while sending requests within the rate for a long time.
        replies ??= new Queue<Reply>(2);
        if (replies.Count >= 4 * options.MaxRequestsPerSecond + 16)
        {
            BeginCloseLocked(CloseCodes.PolicyViolation, "replies not read");
            return;
        }

        replies.Enqueue(Reply.Build(type, write, transport.FrameRoom));
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
        aborted = new CancellationTokenSource();
        abortTimer = time.CreateTimer(static s => ((SessionSender)s!).Abort(), this, TimeSpan.FromMilliseconds(options.CloseTimeoutMs), Timeout.InfiniteTimeSpan);
        Wake();
    }

    /// <summary>Starts the sender. The task completes once the connection is closed (orderly or not); it never faults.</summary>
    public Task RunAsync()
    {
        lane.Ready(this);
        return completion.Task;
    }

    /// <summary>Completes once the connection is closed.</summary>
    public Task Completion => completion.Task;

    /// <summary>A deadline entry of this sender came due on its lane: run a step if the entry is still live and the sender waits.</summary>
    public bool IsDue(long entryGeneration)
    {
        if (entryGeneration != Volatile.Read(ref generation))
        {
            return false;
        }

        Volatile.Write(ref liveEntry, false);
        return Interlocked.CompareExchange(ref state, Queued, Waiting) == Waiting;
    }

    /// <summary>
    /// One turn on the lane's thread: sends what is owed, one message after another while sends complete at once
    /// (a few at most, so one session cannot hold the lane), then waits for its next deadline or a wake-up.
    /// </summary>
    public void RunStep()
    {
        Volatile.Write(ref state, Running);
        for (var turn = 0; turn < 8; turn++)
        {
            Interlocked.Exchange(ref wakeRequested, 0);
            var next = Decide(out var reply, out var conflatedTicks, out var due);
            ValueTask send;
            try
            {
                switch (next)
                {
                    case Step.Finish:
                        Volatile.Write(ref state, Done);
                        _ = FinishAsync();
                        return;
                    case Step.Wait:
                        Sleep(due);
                        return;
                    case Step.Reply:
                        sendQuotes = -1;
                        send = StartSend(reply!.Value.Payload, reply.Value.Type);
                        break;
                    case Step.Control:
                        sendQuotes = NotAMessage;
                        send = transport.SendControlAsync(time.GetTimestamp());
                        break;
                    default:
                        sendQuotes = BuildUpdates(out sendOldestTs);
                        sendConflated = conflatedTicks;
                        send = StartSend(frameBuffer.WrittenMemory, "updates", spans);
                        break;
                }

                if (!send.IsCompletedSuccessfully)
                {
                    // A client that does not keep up (or a failed send): the turn ends here and goes on when the
                    // send completes, off the lane; while it is in flight, new quotes wait in the pending state.
                    Volatile.Write(ref state, Sending);
                    _ = AwaitSendAsync(send);
                    return;
                }

                EndSend();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Fault(ex);
                return;
            }
        }

        // Still more to send: yield the lane to the others and come back.
        Requeue();
    }

    private void Requeue()
    {
        Volatile.Write(ref state, Queued);
        lane.Ready(this);
    }

    private async Task AwaitSendAsync(ValueTask send)
    {
        try
        {
            // A peer that reads nothing at all for the transport's stall limit is taken for dead, as one that
            // answers no ping is: it could otherwise hold its connection for ever under conflate.
            var limit = transport.StallLimit;
            if (limit == Timeout.InfiniteTimeSpan)
            {
                await send.ConfigureAwait(false);
            }
            else
            {
                try
                {
                    await send.AsTask().WaitAsync(limit, time).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    throw new IOException($"the peer read nothing for {limit.TotalSeconds:F0} s");
                }
            }

            EndSend();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Fault(ex);
            return;
        }

        Requeue();
    }

    // sendQuotes of a transport's own frame: not a protocol message, not counted.
    private const int NotAMessage = -2;

    private enum Step
    {
        Reply,
        Control,
        Updates,
        Wait,
        Finish,
    }

    private Step Decide(out Reply? reply, out int conflatedTicks, out long due)
    {
        reply = null;
        conflatedTicks = -1;
        due = 0;
        lock (Gate)
        {
            // Replies already owed (an error explaining the close, say) still go out first.
            if (closing && replies is null)
            {
                return Step.Finish;
            }

            var now = time.GetTimestamp();
            var untilHeartbeat = TimeSpan.FromMilliseconds(options.HeartbeatMs) - time.GetElapsedTime(lastSentAt, now);
            var untilThrottle = anyUpdatesSent
                ? TimeSpan.FromMilliseconds(ThrottleMs) - time.GetElapsedTime(lastUpdatesAt, now)
                : TimeSpan.Zero;

            if (replies is not null)
            {
                reply = replies.Dequeue();
                if (replies.Count == 0)
                {
                    replies = null;
                }

                return Step.Reply;
            }

            if (closing)
            {
                return Step.Finish;
            }

            if (transport.ControlDue(now, out var untilControl))
            {
                return Step.Control;
            }

            if (untilThrottle <= TimeSpan.Zero && (conflatedTicks = TakeOrPark()) >= 0)
            {
                return Step.Updates;
            }

            if (untilHeartbeat <= TimeSpan.Zero)
            {
                reply = Reply.Build("heartbeat", w => ServerMessages.Heartbeat(w, Now()), transport.FrameRoom);
                return Step.Reply;
            }

            // Within the throttle: wait until it expires, then look (quotes are read when the frame is due, not
            // handed over per tick). Parked: wait until a tick wakes the sender, or the heartbeat is due.
            var wait = untilThrottle > TimeSpan.Zero && untilThrottle < untilHeartbeat ? untilThrottle : untilHeartbeat;
            if (untilControl != Timeout.InfiniteTimeSpan && untilControl < wait)
            {
                wait = untilControl;
            }

            due = now + (long)(wait.TotalSeconds * time.TimestampFrequency);
            return Step.Wait;
        }
    }

    /// <summary>Waits for <paramref name="due"/> or a wake-up, whichever comes first.</summary>
    private void Sleep(long due)
    {
        // One live deadline entry at a time: an earlier deadline replaces it; a later one waits for the live one
        // to come due, which just runs a step that finds it early and sleeps again.
        if (!Volatile.Read(ref liveEntry) || due < scheduledDue)
        {
            var gen = Interlocked.Increment(ref generation);
            scheduledDue = due;
            Volatile.Write(ref liveEntry, true);
            lane.Schedule(this, gen, due);
        }

        // A wake-up that came while this step ran (it could not queue a running sender) is honoured now.
        Interlocked.Exchange(ref state, Waiting);
        if (Volatile.Read(ref wakeRequested) == 1 && Interlocked.CompareExchange(ref state, Queued, Waiting) == Waiting)
        {
            lane.Ready(this);
        }
    }

    /// <summary>The transport failed, or something unexpected was thrown: this connection ends, nothing else does.</summary>
    private void Fault(Exception ex)
    {
        frameBuffer.Release();
        batch?.Clear();

        // The transport failed or was aborted: the client is gone, without a close handshake. Anything else is a
        // fault of this connection alone.
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
        Volatile.Write(ref state, Done);
        _ = FinishAsync();
    }

    /// <summary>
    /// Closes the transport with the session's code and completes <see cref="RunAsync"/>. Only ever reached once
    /// closing, so the subscriptions were already left (by <see cref="BeginCloseLocked"/>).
    /// </summary>
    private async Task FinishAsync()
    {
        int code;
        string reason;
        lock (Gate)
        {
            code = closeCode;
            reason = closeReason;
        }

        try
        {
            await transport.CloseAsync(code, reason, aborted?.Token ?? CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            transport.Abort();
        }

        LogClosed(logger, sessionId, code, reason);
        completion.TrySetResult();
    }

    /// <summary>
    /// Takes what is pending into the batch and returns the ticks conflated into it; with nothing pending, parks
    /// (the writer wakes the loop on the next tick of a subscribed symbol) and returns -1. Under the gate.
    /// </summary>
    private int TakeOrPark()
    {
        batch ??= [];
        batchDelta = Delta;
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

    /// <summary>Writes one <c>updates</c> frame: each quote's shared body spliced in, with this client's own counts.</summary>
    private int BuildUpdates(out long oldestTs)
    {
        lastUpdatesAt = time.GetTimestamp();
        anyUpdatesSent = true;
        oldestTs = long.MaxValue;
        frameBuffer.Write(QuoteDeflater.UpdatesPrefix);
        var batch = this.batch!;
        var spans = this.spans;
        for (var i = 0; i < batch.Count; i++)
        {
            var item = batch[i];
            if (i > 0)
            {
                frameBuffer.Write(","u8);
            }

            var baseline = batchDelta ? item.Baseline : null;
            if (spans is null)
            {
                // Nothing compresses this frame: only the bytes, the fewest references away.
                QuoteWriter.WriteSpliced(frameBuffer, baseline is null ? item.Quote.Utf8Body.Span : item.Quote.DeltaBody(baseline, item.BaselineKey).Span, item.Conflated, item.Dropped);
            }
            else
            {
                var body = baseline is null ? item.Quote.Body : item.Quote.DeltaBody(baseline, item.BaselineKey);
                spans.Add(new QuoteSpan(frameBuffer.WrittenCount, item.Mark, body));
                QuoteWriter.WriteSpliced(frameBuffer, body.Span, item.Conflated, item.Dropped);
            }

            oldestTs = Math.Min(oldestTs, item.Quote.Ts);
        }

        frameBuffer.Write("]}"u8);
        var count = batch.Count;
        batch.Clear();
        return count;
    }

    private ValueTask StartSend(ReadOnlyMemory<byte> message, string type, List<QuoteSpan>? quotes = null)
    {
        sendStarted = time.GetTimestamp();
        sendType = type;
        sendBytes = message.Length;
        var token = aborted?.Token ?? CancellationToken.None;
        if (quotes is null)
        {
            return transport.SendAsync(message, type, token);
        }

        // Cleared once handed over, so the list is empty for the next frame and keeps no body alive meanwhile.
        var send = transport.SendUpdatesAsync(message, CollectionsMarshal.AsSpan(quotes), token);
        quotes.Clear();
        return send;
    }

    /// <summary>The message in flight has been handed over: counts it (and, for updates, its quotes) and frees its buffer.</summary>
    private void EndSend()
    {
        if (sendQuotes == NotAMessage)
        {
            return;
        }

        lastSentAt = time.GetTimestamp();
        var wire = transport.LastWireBytes;
        stats.FrameSent(sendType, sendBytes, wire >= 0 ? wire : sendBytes, time.GetElapsedTime(sendStarted, lastSentAt));
        if (sendQuotes >= 0)
        {
            frameBuffer.Release();
            stats.UpdatesSent(sendQuotes, sendConflated, sendOldestTs, Now());
        }
    }

    private void Abort()
    {
        try
        {
            aborted?.Cancel();
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
        abortTimer?.Dispose();
        aborted?.Dispose();
        frameBuffer.Release();
    }

    /// <summary>A reply, serialized when queued (it reflects the state at the time of the request).</summary>
    private readonly record struct Reply(ReadOnlyMemory<byte> Payload, string Type)
    {
        /// <summary>Serialises the reply into an array with <paramref name="room"/> bytes free in front, for the transport's framing.</summary>
        public static Reply Build(string type, Action<Utf8JsonWriter> write, int room)
        {
            var buffer = new ArrayBufferWriter<byte>(256);
            using (var writer = new Utf8JsonWriter(buffer, ServerMessages.WriterOptions))
            {
                write(writer);
            }

            var bytes = new byte[room + buffer.WrittenCount];
            buffer.WrittenSpan.CopyTo(bytes.AsSpan(room));
            return new Reply(bytes.AsMemory(room), type);
        }
    }

    [LoggerMessage(EventId = 501, Level = LogLevel.Debug, Message = "Session {SessionId}: send failed: {Reason}")]
    private static partial void LogSendFailed(ILogger logger, string sessionId, string reason);

    [LoggerMessage(EventId = 502, Level = LogLevel.Debug, Message = "Session {SessionId} closed with {CloseCode} ({Reason})")]
    private static partial void LogClosed(ILogger logger, string sessionId, int closeCode, string reason);

    [LoggerMessage(EventId = 503, Level = LogLevel.Error, Message = "Session {SessionId}: unexpected fault in the sender; the connection is closed")]
    private static partial void LogSendFault(ILogger logger, Exception exception, string sessionId);
}
