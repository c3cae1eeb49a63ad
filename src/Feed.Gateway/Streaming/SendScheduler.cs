namespace MarketStream.Gateway.Streaming;

/// <summary>
/// Runs the senders of all sessions on a few dedicated threads (DESIGN.md decision 10): each thread keeps its
/// sessions' deadlines (throttle, heartbeat) in one heap and its woken sessions in one queue, and walks whatever
/// is due in a batch. A frame then costs no timer of its own, no thread-pool dispatch and no task switch: the
/// sender builds it and hands it to the transport on this thread, and only a send that cannot complete at once
/// (a slow client) continues elsewhere and comes back through the queue.
/// </summary>
/// <remarks>
/// Time comes from the injected <see cref="TimeProvider"/>: each thread sleeps on one timer of that provider
/// (for its earliest deadline) or on new work, so tests drive the whole schedule with a fake clock.
/// </remarks>
public sealed class SendScheduler : IDisposable
{
    private readonly Lane[] lanes;
    private int next;

    public SendScheduler(TimeProvider time, int threads)
    {
        ArgumentNullException.ThrowIfNull(time);
        lanes = new Lane[Math.Max(1, threads)];
        for (var i = 0; i < lanes.Length; i++)
        {
            lanes[i] = new Lane(time, $"sender {i + 1}");
        }
    }

    /// <summary>Threads for a machine: half its cores (the other half serve the sockets, the writer and the consumer), at least one.</summary>
    public static int DefaultThreads => Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>Assigns a sender to a thread, round robin; it stays there for its life.</summary>
    internal ISendLane Assign() => lanes[(int)((uint)Interlocked.Increment(ref next) % (uint)lanes.Length)];

    public void Dispose()
    {
        foreach (var lane in lanes)
        {
            lane.Dispose();
        }
    }

    private sealed class Lane : ISendLane, IDisposable
    {
        private readonly TimeProvider time;
        private readonly Thread thread;
        private readonly Lock gate = new();
        private readonly Queue<IScheduledSender> ready = new();
        private readonly PriorityQueue<(IScheduledSender Sender, long Generation), long> deadlines = new();
        // Set when there is work; no spinning before the thread sleeps (a spin is a sched_yield loop on a busy box).
        private readonly ManualResetEventSlim work = new(false, spinCount: 0);

        // On the system clock the thread sleeps in its own wait with a timeout; on any other clock (a test's fake
        // one) it sleeps until that clock's timer fires. A system timer would cost a thread-pool hop per wake-up.
        private readonly ITimer? timer;
        private readonly long resolution;
        private int waitMs = Timeout.Infinite;
        private readonly List<IScheduledSender> batch = [];
        private long armedFor = long.MaxValue;
        private volatile bool stopping;
        private int signaled;

        public Lane(TimeProvider time, string name)
        {
            this.time = time;
            timer = time == TimeProvider.System
                ? null
                : time.CreateTimer(static s => ((Lane)s!).Signal(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            resolution = Math.Max(1, time.TimestampFrequency / 1000);
            thread = new Thread(Run) { IsBackground = true, Name = name };
            thread.Start();
        }

        public void Ready(IScheduledSender sender)
        {
            lock (gate)
            {
                ready.Enqueue(sender);
            }

            Signal();
        }

        public void Schedule(IScheduledSender sender, long generation, long dueTimestamp)
        {
            // Deadlines are rounded up to the next millisecond, so those of many sessions fall together and one
            // wake-up serves them all; a throttle is a least interval, so later by under a millisecond is within it.
            dueTimestamp = (dueTimestamp + resolution - 1) / resolution * resolution;
            bool earlier;
            lock (gate)
            {
                deadlines.Enqueue((sender, generation), dueTimestamp);
                earlier = dueTimestamp < armedFor;
            }

            // Only a deadline earlier than the one the thread sleeps for needs to wake it (to re-arm its timer).
            if (earlier)
            {
                Signal();
            }
        }

        private void Signal()
        {
            if (Interlocked.Exchange(ref signaled, 1) == 0)
            {
                work.Set();
            }
        }

        private void Run()
        {
            while (!stopping)
            {
                work.Wait(waitMs);

                // Reset the event, then clear the flag, then look at the queues. In the other order a Signal
                // between the two would set the event just before it is reset, leave the flag up, and so silence
                // every later Signal: with no deadline to wake for, the thread would sleep for good.
                work.Reset();
                Interlocked.Exchange(ref signaled, 0);
                if (stopping)
                {
                    return;
                }

                // Everything woken, and everything whose deadline has passed, in one batch.
                var now = time.GetTimestamp();
                long nextDue;
                lock (gate)
                {
                    while (ready.TryDequeue(out var s))
                    {
                        batch.Add(s);
                    }

                    while (deadlines.TryPeek(out var entry, out var due) && due <= now)
                    {
                        deadlines.Dequeue();
                        if (entry.Sender.IsDue(entry.Generation))
                        {
                            batch.Add(entry.Sender);
                        }
                    }

                    nextDue = deadlines.TryPeek(out _, out var d) ? d : long.MaxValue;
                    armedFor = nextDue;
                }

                foreach (var sender in batch)
                {
                    sender.RunStep();
                }

                batch.Clear();
                Arm(nextDue);
            }
        }

        private void Arm(long due)
        {
            // Overdue is "now", never "no deadline". (A TimeSpan of the wait cannot say it: a deadline overdue by
            // exactly one millisecond is a TimeSpan equal to Timeout.InfiniteTimeSpan, and the lane then slept
            // for good with every sender waiting for it.)
            var infinite = due == long.MaxValue;
            var ticks = infinite ? 0 : Math.Max(0, due - time.GetTimestamp());
            if (timer is not null)
            {
                timer.Change(infinite ? Timeout.InfiniteTimeSpan : TimeSpan.FromTicks((long)Math.Ceiling(ticks * (double)TimeSpan.TicksPerSecond / time.TimestampFrequency)), Timeout.InfiniteTimeSpan);
            }
            else
            {
                waitMs = infinite ? Timeout.Infinite : (int)Math.Min(int.MaxValue - 1, Math.Ceiling(ticks * 1000.0 / time.TimestampFrequency));
            }
        }

        public void Dispose()
        {
            stopping = true;
            work.Set();
            thread.Join(TimeSpan.FromSeconds(5));
            timer?.Dispose();
            work.Dispose();
        }
    }
}

/// <summary>One scheduler thread, as a sender sees it.</summary>
internal interface ISendLane
{
    /// <summary>Runs the sender's next step on this thread as soon as it can.</summary>
    void Ready(IScheduledSender sender);

    /// <summary>Runs the sender's next step at <paramref name="dueTimestamp"/> (a timestamp of the scheduler's clock), unless <paramref name="generation"/> is stale by then.</summary>
    void Schedule(IScheduledSender sender, long generation, long dueTimestamp);
}

/// <summary>What a lane runs: a session's sender.</summary>
internal interface IScheduledSender
{
    /// <summary>One step on the lane's thread.</summary>
    void RunStep();

    /// <summary>A deadline entry came due: true if it is still live and the sender is to run a step now.</summary>
    bool IsDue(long generation);
}
