namespace MarketStream.Ingest.Tests;

/// <summary>The one rule readiness and the dashboard read: when are the brokers unreachable.</summary>
public sealed class IngestStatusTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);

    [Fact]
    public void Before_the_first_contact_the_brokers_are_not_called_unreachable() =>
        Assert.Null(new IngestStatus().UnreachableFor(Now, Grace));

    [Fact]
    public void Silence_within_the_grace_is_not_unreachable_and_longer_silence_is_measured()
    {
        var status = new IngestStatus();
        status.MarkBrokerContact(Now - TimeSpan.FromSeconds(30));
        Assert.Null(status.UnreachableFor(Now, Grace));

        status.MarkBrokerContact(Now - TimeSpan.FromSeconds(45));
        Assert.Equal(TimeSpan.FromSeconds(45), status.UnreachableFor(Now, Grace));

        status.MarkBrokerContact(Now);
        Assert.Null(status.UnreachableFor(Now, Grace));
    }
}
