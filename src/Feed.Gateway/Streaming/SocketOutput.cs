using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// A connection's output written straight to its socket by the thread that sends (README, "How a tick travels"): a
/// WebSocket frame goes from the session's sender to the kernel in one non-blocking <c>send</c>, with no copy into
/// an output pipe and no hop to a thread that drains the pipe. Only what the socket does not take at once (a
/// client that does not keep up) is copied into pooled segments and sent by an asynchronous loop, in order.
/// </summary>
/// <remarks>
/// <para>
/// Installed as Kestrel connection middleware on every plain-TCP connection, in place of the transport's output
/// pipe, so Kestrel's own HTTP writes (responses, the 101 of an upgrade) take the same path and nothing can
/// overtake them: after an upgrade the WebSocket layer writes through <see cref="SendAsync"/>, behind whatever
/// Kestrel left unsent. Kestrel's reading is untouched.
/// </para>
/// <para>
/// A send completes at once while less than the pause size (Kestrel's response buffer limit) waits unsent, as a
/// flush of Kestrel's output pipe does; past it, it completes when the backlog is down to half of it. So a slow client holds
/// at most about that much here, and its sender waits (and conflates) meanwhile. An idle connection holds no
/// buffer: a segment goes back to the pool once sent.
/// </para>
/// <para>
/// One writer at a time, as for any <see cref="PipeWriter"/>: Kestrel until it hands the connection over (the
/// upgrade), then the session's sender. The asynchronous loop only ever sends what they queued, in order.
/// </para>
/// </remarks>
internal sealed class SocketOutput : PipeWriter
{
    /// <summary>Backlog at which a send waits, unless told otherwise: Kestrel's default response buffer.</summary>
    public const int DefaultPauseBytes = 64 * 1024;
    private const int SegmentSize = 4096;

    private readonly Socket socket;
    private readonly long pauseBytes;
    private readonly long resumeBytes;
    private readonly Lock gate = new();

    // Unsent bytes, oldest first; the last segment is where writes go. Under gate.
    private readonly Queue<Segment> segments = new();
    private Segment? tail;
    private long backlog;
    private long unflushed;

    // Set while a GetMemory's buffer is out (the writer has not advanced yet): the tail must stay.
    private bool memoryOut;

    // Set while one thread sends (a writer from its own thread, or the loop that sends a backlog): only it
    // touches the socket then, and others queue behind it.
    private bool sending;
    private TaskCompletionSource<FlushResult>? resumed;
    private TaskCompletionSource? drained;
    private Exception? failure;

    public SocketOutput(Socket socket, long pauseBytes = DefaultPauseBytes)
    {
        this.socket = socket;
        this.pauseBytes = Math.Max(1, pauseBytes);
        resumeBytes = this.pauseBytes / 2;
    }

    /// <summary>
    /// Kestrel connection middleware: puts a <see cref="SocketOutput"/> in place of the transport's output on a
    /// connection that has a socket, and sends what is left once the connection's handler is done. A send waits
    /// while <paramref name="pauseBytes"/> are unsent (Kestrel's <c>Limits.MaxResponseBufferSize</c>).
    /// </summary>
    public static Func<ConnectionDelegate, ConnectionDelegate> Middleware(long? pauseBytes) => next => async connection =>
    {
        if (connection.Features.Get<IConnectionSocketFeature>()?.Socket is not { } socket)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }

        socket.Blocking = false;
        var output = new SocketOutput(socket, pauseBytes ?? DefaultPauseBytes);
        var transport = connection.Transport;
        connection.Transport = new DuplexPipe(transport.Input, output);
        connection.Features.Set(output);
        try
        {
            await next(connection).ConfigureAwait(false);
            await output.DrainAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        finally
        {
            output.Release();
            connection.Transport = transport;
        }
    };

    /// <summary>Bytes waiting to be sent.</summary>
    public long Backlog
    {
        get
        {
            lock (gate)
            {
                return backlog;
            }
        }
    }

    /// <summary>
    /// Sends <paramref name="data"/> after anything still waiting: at once if the socket takes it, else the rest is
    /// copied and sent in the background. Completes when the backlog allows another send (see the remarks); throws
    /// an <see cref="IOException"/> once the socket has failed.
    /// </summary>
    public ValueTask SendAsync(ReadOnlyMemory<byte> data)
    {
        lock (gate)
        {
            if (failure is not null)
            {
                return ValueTask.FromException(Failed());
            }

            if (sending || backlog > 0)
            {
                Append(data.Span);
                StartDrain();
                return Paused();
            }

            sending = true;
        }

        // Nothing waits and nothing else sends: straight to the socket from this thread.
        var rest = data.Span;
        while (rest.Length > 0)
        {
            var error = TrySend(rest, out var sent);
            if (error == SocketError.WouldBlock)
            {
                break;
            }

            if (error != SocketError.Success)
            {
                Fail(new SocketException((int)error));
                return ValueTask.FromException(Failed());
            }

            rest = rest[sent..];
        }

        lock (gate)
        {
            // What the socket did not take (if anything) goes to the loop, which starts only if there is some.
            Append(rest);
            sending = false;
            StartDrain();
            return Paused();
        }
    }

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        lock (gate)
        {
            var need = Math.Max(sizeHint, 1);
            if (tail is null || tail.Free < need)
            {
                AddSegment(need);
            }

            memoryOut = true;
            return tail!.Array.AsMemory(tail.End);
        }
    }

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override void Advance(int bytes)
    {
        lock (gate)
        {
            memoryOut = false;
            if (failure is not null)
            {
                // The connection is gone: what is written now is dropped, as a completed pipe drops it.
                return;
            }

            tail!.End += bytes;
            backlog += bytes;
            unflushed += bytes;
        }
    }

    public override bool CanGetUnflushedBytes => true;

    /// <summary>Bytes advanced since the last flush.</summary>
    public override long UnflushedBytes
    {
        get
        {
            lock (gate)
            {
                return unflushed;
            }
        }
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        lock (gate)
        {
            unflushed = 0;
            if (failure is not null)
            {
                return new ValueTask<FlushResult>(Gone);
            }

            if (sending || backlog == 0)
            {
                return Flushed(Pause());
            }

            sending = true;
        }

        // Send what was written, from this thread, until the socket takes no more.
        while (true)
        {
            ArraySegment<byte> next;
            lock (gate)
            {
                if (!TryPeek(out next))
                {
                    sending = false;
                    return new ValueTask<FlushResult>(Done);
                }
            }

            var error = TrySend(next, out var sent);
            if (error == SocketError.WouldBlock)
            {
                lock (gate)
                {
                    sending = false;
                    StartDrain();
                    return Flushed(Pause());
                }
            }

            if (error != SocketError.Success)
            {
                Fail(new SocketException((int)error));
                return new ValueTask<FlushResult>(Gone);
            }

            lock (gate)
            {
                Consumed(sent);
            }
        }
    }

    public override void CancelPendingFlush()
    {
        TaskCompletionSource<FlushResult>? waiter;
        lock (gate)
        {
            waiter = resumed;
            resumed = null;
        }

        waiter?.TrySetResult(new FlushResult(isCanceled: true, isCompleted: false));
    }

    /// <summary>The writer is done (Kestrel completes its output at the end of a connection); what is written still goes out.</summary>
    public override void Complete(Exception? exception = null)
    {
    }

    /// <summary>Waits until everything written has been sent (or sending failed), at most <paramref name="limit"/>.</summary>
    public async Task DrainAsync(TimeSpan limit)
    {
        Task wait;
        lock (gate)
        {
            if (!sending && backlog == 0)
            {
                return;
            }

            drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            wait = drained.Task;
            StartDrain();
        }

        await Task.WhenAny(wait, Task.Delay(limit)).ConfigureAwait(false);
    }

    /// <summary>Returns the buffers to the pool; what was not sent is dropped (the connection is over).</summary>
    public void Release()
    {
        lock (gate)
        {
            failure ??= new ObjectDisposedException(nameof(SocketOutput));
            if (!sending)
            {
                // Otherwise the one sending returns them when its send ends.
                ReturnAll();
            }
        }
    }

    private static readonly FlushResult Done = new(isCanceled: false, isCompleted: false);
    private static readonly FlushResult Gone = new(isCanceled: false, isCompleted: true);

    private SocketError TrySend(ReadOnlySpan<byte> data, out int sent)
    {
        try
        {
            sent = socket.Send(data, SocketFlags.None, out var error);
            return error;
        }
        catch (ObjectDisposedException)
        {
            // Kestrel closed the socket (the connection was aborted).
            sent = 0;
            return SocketError.OperationAborted;
        }
    }

    // Under gate: the loop takes over sending, unless someone sends already (and will hand over to it).
    private void StartDrain()
    {
        if (sending || backlog == 0)
        {
            return;
        }

        sending = true;
        _ = DrainLoopAsync();
    }

    private async Task DrainLoopAsync()
    {
        // Off the caller's thread: it is the sender of some session, and must not run this loop's sends.
        await Task.Yield();
        while (true)
        {
            ArraySegment<byte> next = default;
            TaskCompletionSource<FlushResult>? resume = null;
            TaskCompletionSource? done = null;
            bool finished;
            lock (gate)
            {
                finished = failure is not null || !TryPeek(out next);
                if (finished)
                {
                    sending = false;
                    (resume, resumed) = (resumed, null);
                    (done, drained) = (drained, null);
                    if (failure is not null)
                    {
                        ReturnAll();
                    }
                }
            }

            if (finished)
            {
                if (failure is not null)
                {
                    resume?.TrySetException(Failed());
                }
                else
                {
                    resume?.TrySetResult(Done);
                }

                done?.TrySetResult();
                return;
            }

            int sent;
            try
            {
                sent = await socket.SendAsync(next.AsMemory(), SocketFlags.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                Fail(ex);
                continue;
            }

            lock (gate)
            {
                Consumed(sent);
                if (backlog <= resumeBytes && resumed is not null)
                {
                    resume = resumed;
                    resumed = null;
                }
            }

            resume?.TrySetResult(Done);
        }
    }

    private void Fail(Exception ex)
    {
        TaskCompletionSource<FlushResult>? resume;
        lock (gate)
        {
            failure ??= ex;
            (resume, resumed) = (resumed, null);
        }

        resume?.TrySetException(Failed());
    }

    private IOException Failed() => failure as IOException ?? new IOException("the connection's socket failed: " + failure?.Message, failure);

    // Under gate: a writer waits for the backlog when there is too much of it.
    private Task<FlushResult>? Pause()
    {
        if (backlog < pauseBytes)
        {
            return null;
        }

        resumed ??= new TaskCompletionSource<FlushResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        return resumed.Task;
    }

    // Under gate: what a send returns.
    private ValueTask Paused() => Pause() is { } pause ? new ValueTask(pause) : ValueTask.CompletedTask;

    private static ValueTask<FlushResult> Flushed(Task<FlushResult>? pause) =>
        pause is null ? new ValueTask<FlushResult>(Done) : new ValueTask<FlushResult>(pause);

    // Under gate.
    private void Append(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            if (tail is null || tail.Free == 0)
            {
                AddSegment(data.Length);
            }

            var n = Math.Min(tail!.Free, data.Length);
            data[..n].CopyTo(tail.Array.AsSpan(tail.End));
            tail.End += n;
            backlog += n;
            data = data[n..];
        }
    }

    // Under gate.
    private void AddSegment(int need)
    {
        var segment = new Segment(ArrayPool<byte>.Shared.Rent(Math.Max(need, SegmentSize)));
        segments.Enqueue(segment);
        tail = segment;
    }

    // Under gate: the oldest unsent bytes, if any; segments sent through go back to the pool on the way.
    private bool TryPeek(out ArraySegment<byte> next)
    {
        while (segments.TryPeek(out var head))
        {
            if (head.Start < head.End)
            {
                next = new ArraySegment<byte>(head.Array, head.Start, head.End - head.Start);
                return true;
            }

            if (head == tail && memoryOut)
            {
                // A writer holds memory in it: it stays.
                break;
            }

            segments.Dequeue();
            ArrayPool<byte>.Shared.Return(head.Array);
            if (head == tail)
            {
                tail = null;
            }
        }

        next = default;
        return false;
    }

    // Under gate.
    private void Consumed(int sent)
    {
        var head = segments.Peek();
        head.Start += sent;
        backlog -= sent;
    }

    // Under gate.
    private void ReturnAll()
    {
        if (!memoryOut)
        {
            foreach (var segment in segments)
            {
                ArrayPool<byte>.Shared.Return(segment.Array);
            }
        }

        // Else a writer still holds memory in the tail: the segments are left to the garbage collector.
        segments.Clear();
        tail = null;
        backlog = 0;
    }

    private sealed class Segment(byte[] array)
    {
        public byte[] Array { get; } = array;

        public int Start;

        public int End;

        public int Free => Array.Length - End;
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
