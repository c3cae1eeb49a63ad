using MarketStream.Ingest;

namespace MarketStream.Gateway.Streaming;

/// <summary>Tells every open session when the feed turns stale or live again (<see cref="FeedFreshness"/>).</summary>
internal sealed class FeedStatusBroadcaster(FeedFreshness freshness, SessionRegistry registry) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        freshness.Changed += Tell;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        freshness.Changed -= Tell;
        return Task.CompletedTask;
    }

    private void Tell(FeedState state)
    {
        foreach (var session in registry.Snapshot())
        {
            session.TellFeed(state);
        }
    }
}
