namespace MarketStream.Client.Tests;

public class BackoffTests
{
    [Fact]
    public void Without_jitter_the_wait_doubles_from_the_initial_value_up_to_the_cap()
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10), 0, new Random(1));

        var waits = Enumerable.Range(0, 8).Select(a => backoff.Delay(a).TotalMilliseconds).ToList();

        Assert.Equal([250, 500, 1000, 2000, 4000, 8000, 10000, 10000], waits);
        Assert.Equal(TimeSpan.FromSeconds(10), backoff.Delay(int.MaxValue));
    }

    [Fact]
    public void Jitter_spreads_waits_over_the_random_share_below_the_nominal_value()
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(1000), TimeSpan.FromSeconds(10), 0.5, new Random(7));

        var waits = Enumerable.Range(0, 200).Select(_ => backoff.Delay(0).TotalMilliseconds).ToList();

        Assert.All(waits, w => Assert.InRange(w, 500, 1000));
        Assert.True(waits.Distinct().Count() > 100, "jitter does not spread the waits");
    }
}
