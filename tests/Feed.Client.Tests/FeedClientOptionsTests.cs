namespace MarketStream.Client.Tests;

public class FeedClientOptionsTests
{
    [Fact]
    public void The_documented_defaults_hold()
    {
        var options = new FeedClientOptions();

        Assert.Equal(TimeSpan.FromMilliseconds(250), options.InitialBackoff);
        Assert.Equal(TimeSpan.FromSeconds(10), options.MaxBackoff);
        Assert.Equal(2.5, options.StaleFactor);
        Assert.Equal(0.5, options.Jitter);
        Assert.Equal(10_000, options.BufferCapacity);
    }

    [Theory]
    [InlineData(nameof(FeedClientOptions.Endpoint))]
    [InlineData(nameof(FeedClientOptions.Jitter))]
    [InlineData(nameof(FeedClientOptions.StaleFactor))]
    [InlineData(nameof(FeedClientOptions.BufferCapacity))]
    [InlineData(nameof(FeedClientOptions.ThrottleMs))]
    public void A_setting_out_of_range_fails_when_the_client_is_created(string setting)
    {
        var options = new FeedClientOptions { Endpoint = new Uri("ws://localhost/ws") };
        switch (setting)
        {
            case nameof(FeedClientOptions.Endpoint): options.Endpoint = new Uri("ftp://localhost/"); break;
            case nameof(FeedClientOptions.Jitter): options.Jitter = 1.5; break;
            case nameof(FeedClientOptions.StaleFactor): options.StaleFactor = 1; break;
            case nameof(FeedClientOptions.BufferCapacity): options.BufferCapacity = 0; break;
            case nameof(FeedClientOptions.ThrottleMs): options.ThrottleMs = 60_001; break;
        }

        var error = Assert.Throws<ArgumentException>(() => new FeedClient(options));
        Assert.Equal(setting, error.ParamName);
    }
}
