using System.Threading.Tasks.Sources;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// An auto-reset wake-up for one waiter: <see cref="Set"/> completes the pending wait, or, with none pending,
/// makes the next wait return at once. The session's sender sleeps on it between frames. It allocates
/// nothing per wait (one reusable value-task source), since a busy gateway waits and wakes thousands of
/// times a second.
/// </summary>
internal sealed class AsyncSignal : IValueTaskSource
{
    private const int Idle = 0;
    private const int Signaled = 1;
    private const int Waiting = 2;

    private ManualResetValueTaskSourceCore<bool> core = new() { RunContinuationsAsynchronously = true };
    private int state;

    public void Set()
    {
        while (true)
        {
            switch (Volatile.Read(ref state))
            {
                case Signaled:
                    return;
                case Idle:
                    if (Interlocked.CompareExchange(ref state, Signaled, Idle) == Idle)
                    {
                        return;
                    }

                    break;
                default:
                    if (Interlocked.CompareExchange(ref state, Idle, Waiting) == Waiting)
                    {
                        core.SetResult(true);
                        return;
                    }

                    break;
            }
        }
    }

    /// <summary>Waits for the next <see cref="Set"/>; one waiter at a time.</summary>
    public ValueTask WaitAsync()
    {
        if (Interlocked.CompareExchange(ref state, Idle, Signaled) == Signaled)
        {
            return ValueTask.CompletedTask;
        }

        core.Reset();
        if (Interlocked.CompareExchange(ref state, Waiting, Idle) != Idle)
        {
            // Set between the two steps: the signal is consumed here.
            Volatile.Write(ref state, Idle);
            return ValueTask.CompletedTask;
        }

        return new ValueTask(this, core.Version);
    }

    void IValueTaskSource.GetResult(short token) => core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        core.OnCompleted(continuation, state, token, flags);
}
