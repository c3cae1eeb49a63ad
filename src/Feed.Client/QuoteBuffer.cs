namespace MarketStream.Client;

/// <summary>
/// The quotes waiting for the reader: the latest per symbol, in the order symbols first became pending.
/// </summary>
/// <remarks>
/// Why latest-wins rather than a drop-oldest queue: a terminal shows the current state of each symbol, and a
/// quote carries the whole merged state, so a newer quote makes an older unread one worthless. A drop-oldest
/// queue could discard a symbol's last quote and leave its row showing an old price indefinitely; latest-wins
/// cannot. Memory is bounded by the subscribed symbols, whatever the tick rate and however slowly the reader
/// reads, and a replaced quote is counted (<see cref="FeedClientCounters.QuotesCoalesced"/>) and folded into the
/// survivor's <see cref="QuoteUpdate.Conflated"/>, so the reader still learns what it missed. The capacity only
/// matters for callers with more symbols than it; then the oldest entry goes and is counted.
/// Readers that need every tick should ask the server for a drop policy and read faster than it sends.
/// </remarks>
internal sealed class QuoteBuffer(int capacity, FeedClientCounters counters)
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, LinkedListNode<QuoteUpdate>> bySymbol = new(StringComparer.Ordinal);
    private readonly LinkedList<QuoteUpdate> order = new();
    private TaskCompletionSource? waiter;
    private bool completed;

    public int Count
    {
        get
        {
            lock (gate)
            {
                return order.Count;
            }
        }
    }

    public void Add(QuoteUpdate update)
    {
        TaskCompletionSource? wake;
        lock (gate)
        {
            if (completed)
            {
                return;
            }

            if (bySymbol.TryGetValue(update.Symbol, out var node))
            {
                // The unread quote and everything merged into it are now merged into the newer one.
                var old = node.Value;
                node.Value = update with
                {
                    Conflated = update.Conflated + old.Conflated + 1,
                    Dropped = update.Dropped + old.Dropped,
                };
                counters.QuoteCoalesced();
                return;
            }

            if (order.Count >= capacity)
            {
                var oldest = order.First!;
                order.RemoveFirst();
                bySymbol.Remove(oldest.Value.Symbol);
                counters.QuoteDroppedFromBuffer();
            }

            bySymbol[update.Symbol] = order.AddLast(update);
            wake = waiter;
            waiter = null;
        }

        wake?.TrySetResult();
    }

    /// <summary>Discards the waiting quote of a symbol no longer subscribed.</summary>
    public void Remove(string symbol)
    {
        lock (gate)
        {
            if (bySymbol.Remove(symbol, out var node))
            {
                order.Remove(node);
            }
        }
    }

    public bool TryRead(out QuoteUpdate update)
    {
        lock (gate)
        {
            var first = order.First;
            if (first is null)
            {
                update = null!;
                return false;
            }

            order.RemoveFirst();
            bySymbol.Remove(first.Value.Symbol);
            update = first.Value;
            return true;
        }
    }

    /// <summary>Waits until a quote is waiting (true) or the buffer is completed and empty (false).</summary>
    public async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (gate)
            {
                if (order.Count > 0)
                {
                    return true;
                }

                if (completed)
                {
                    return false;
                }

                waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = waiter.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>No more quotes will come; readers finish once they have taken what is waiting.</summary>
    public void Complete()
    {
        TaskCompletionSource? wake;
        lock (gate)
        {
            completed = true;
            wake = waiter;
            waiter = null;
        }

        wake?.TrySetResult();
    }
}
