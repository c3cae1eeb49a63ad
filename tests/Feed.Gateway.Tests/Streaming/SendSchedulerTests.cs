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
}
