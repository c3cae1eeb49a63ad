namespace MarketStream.Gateway.Streaming;

/// <summary>
/// An auto-reset wake-up for one waiter: <see cref="Set"/> completes the pending wait, or, with none pending,
/// makes the next wait return at once. The session's sender sleeps on it between frames.
/// </summary>
internal sealed class AsyncSignal
{
    private readonly Lock gate = new();
    private TaskCompletionSource? waiter;
    private bool signaled;

    public void Set()
    {
        TaskCompletionSource? toRelease;
        lock (gate)
        {
            toRelease = waiter;
            waiter = null;
            signaled = toRelease is null;
        }

        toRelease?.TrySetResult();
    }

    public Task WaitAsync()
    {
        lock (gate)
        {
            if (signaled)
            {
                signaled = false;
                return Task.CompletedTask;
            }

            waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return waiter.Task;
        }
    }
}
