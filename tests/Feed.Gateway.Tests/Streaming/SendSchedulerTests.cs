using MarketStream.Gateway.Streaming;

namespace MarketStream.Gateway.Tests.Streaming;

/// <summary>
/// The scheduler's threads on the real clock: every wake-up runs its sender, and every deadline fires, however the
/// wake-ups of other threads fall against the lane's own sleep and wake.
/// </summary>
public sealed class SendSchedulerTests
{
    /// <summary>
    /// Two threads wake a sender on one lane as fast as they can while the lane has no deadline at all, so it
    /// sleeps without a timeout between batches. A wake-up lost in the lane's reset of its event would leave it
    /// asleep for good with steps still owed, and the wait for the last of them would time out.
    /// </summary>
    [Fact]
    public void No_wake_up_is_lost_when_the_lane_has_no_deadline()
    {
        using var scheduler = new SendScheduler(TimeProvider.System, threads: 1);
        var lane = scheduler.Assign();
        var probe = new CountingProbe();
        const int PerThread = 300_000;

        Parallel.For(0, 2, new ParallelOptions { MaxDegreeOfParallelism = 2 }, _ =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                lane.Ready(probe);
            }
        });

        Assert.True(SpinWait.SpinUntil(() => probe.Steps == 2 * PerThread, TimeSpan.FromSeconds(10)), $"{probe.Steps} of {2 * PerThread} steps ran");
    }

    [Fact]
    public void A_deadline_runs_its_sender_at_its_time_and_a_stale_one_does_not()
    {
        using var scheduler = new SendScheduler(TimeProvider.System, threads: 1);
        var lane = scheduler.Assign();
        var live = new Probe { LiveGeneration = 2 };
        var due = TimeProvider.System.GetTimestamp() + TimeProvider.System.TimestampFrequency / 20;

        lane.Schedule(live, generation: 1, due);
        lane.Schedule(live, generation: 2, due);

        Assert.True(live.Ran.Wait(TimeSpan.FromSeconds(5)));
        Assert.True(TimeProvider.System.GetTimestamp() >= due);
        Assert.False(live.Ran.Wait(TimeSpan.FromMilliseconds(200)));
        Assert.Equal(1, live.Steps);
    }

    /// <summary>
    /// A deadline that comes due while the lane runs a batch, and is overdue by exactly one millisecond when the
    /// lane re-arms its timer, still runs. (The lane used to turn "overdue by 1 ms" into the TimeSpan of
    /// Timeout.InfiniteTimeSpan, disarm its timer and sleep for good: every session of the lane stopped at once.)
    /// The clock here moves only when told and fires a timer only when the test says so, so the moment is exact.
    /// </summary>
    [Theory]
    [InlineData(1_000_000)]
    [InlineData(999_999)]
    [InlineData(1_000_001)]
    [InlineData(250_000_000)]
    public void A_deadline_overdue_when_the_lane_rearms_still_runs(long overdueNanoseconds)
    {
        var clock = new ManualClock();
        using var scheduler = new SendScheduler(clock, threads: 1);
        var lane = scheduler.Assign();
        var waiting = new Probe { LiveGeneration = 1 };
        var due = 5_000_000L;
        lane.Schedule(waiting, generation: 1, due);
        Assert.True(SpinWait.SpinUntil(() => clock.Timer?.ArmedAt == due, TimeSpan.FromSeconds(5)), "the lane did not arm its timer for the deadline");

        // A step that takes the clock past the deadline, without the timer firing meanwhile.
        var slow = new ClockMovingProbe(clock, due + overdueNanoseconds);
        var changesBefore = clock.Timer!.Changes;
        lane.Ready(slow);
        Assert.True(slow.Ran.Wait(TimeSpan.FromSeconds(5)));
        Assert.True(SpinWait.SpinUntil(() => clock.Timer.Changes > changesBefore, TimeSpan.FromSeconds(5)), "the lane did not re-arm after the step");

        // Whatever the lane armed must fire now (the deadline is past), and the waiting sender must run.
        clock.FireDue();
        Assert.True(waiting.Ran.Wait(TimeSpan.FromSeconds(5)), $"the deadline never ran: the lane armed its timer for {clock.Timer.ArmedAt?.ToString() ?? "never"} at {clock.GetTimestamp()}");
    }

    private sealed class Probe : IScheduledSender
    {
        public SemaphoreSlim Ran { get; } = new(0);

        public long LiveGeneration { get; init; } = -1;

        public int Steps { get; private set; }

        public void RunStep()
        {
            Steps++;
            Ran.Release();
        }

        public bool IsDue(long generation) => generation == LiveGeneration;
    }

    private sealed class CountingProbe : IScheduledSender
    {
        private int steps;

        public int Steps => Volatile.Read(ref steps);

        public void RunStep() => Interlocked.Increment(ref steps);

        public bool IsDue(long generation) => false;
    }

    private sealed class ClockMovingProbe(ManualClock clock, long to) : IScheduledSender
    {
        public SemaphoreSlim Ran { get; } = new(0);

        public void RunStep()
        {
            clock.Set(to);
            Ran.Release();
        }

        public bool IsDue(long generation) => false;
    }

    /// <summary>A clock in nanoseconds that moves only when set, with one timer that fires only when told.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long now;

        public ManualTimer? Timer { get; private set; }

        public override long TimestampFrequency => 1_000_000_000;

        public override long GetTimestamp() => Volatile.Read(ref now);

        public void Set(long timestamp) => Volatile.Write(ref now, timestamp);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Timer = new ManualTimer(this, callback, state);
            Timer.Change(dueTime, period);
            return Timer;
        }

        /// <summary>Fires the timer if it is armed for now or earlier.</summary>
        public void FireDue()
        {
            if (Timer is { ArmedAt: { } at } timer && at <= GetTimestamp())
            {
                timer.Fire();
            }
        }
    }

    private sealed class ManualTimer(ManualClock clock, TimerCallback callback, object? state) : ITimer
    {
        private long armedAt = -1;
        private int changes;

        public long? ArmedAt => Volatile.Read(ref armedAt) is var at && at >= 0 ? at : null;

        public int Changes => Volatile.Read(ref changes);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            Volatile.Write(ref armedAt, dueTime == Timeout.InfiniteTimeSpan ? -1 : clock.GetTimestamp() + dueTime.Ticks * 100);
            Interlocked.Increment(ref changes);
            return true;
        }

        public void Fire()
        {
            Volatile.Write(ref armedAt, -1);
            callback(state);
        }

        public void Dispose() => Volatile.Write(ref armedAt, -1);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
