using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MarketStream.Ingest;

/// <summary>
/// Whether the feed is live or stale, so frozen prices are said to be frozen rather than kept looking live by
/// heartbeats. Stale: nothing consumed for <see cref="KafkaOptions.StaleAfterSeconds"/> while the brokers have been
/// unreachable that long or the lag has not come down (records waiting that do not arrive). A quiet market with
/// reachable brokers and nothing to read is live. Checked twice a second on the injected clock.
/// </summary>
public sealed partial class FeedFreshness : IHostedService, IDisposable
{
    private static readonly TimeSpan Period = TimeSpan.FromMilliseconds(500);
    private readonly IngestStats stats;
    private readonly IngestStatus status;
    private readonly TimeProvider time;
    private readonly ILogger<FeedFreshness> logger;
    private readonly TimeSpan staleAfter;
    private readonly Lock gate = new();
    private ITimer? timer;
    private long lastConsumed = -1;
    private DateTimeOffset lastProgress;
    private DateTimeOffset? staleSince;

    public FeedFreshness(
        IngestStats stats,
        IngestStatus status,
        IOptions<KafkaOptions> options,
        TimeProvider time,
        IMeterFactory meters,
        ILogger<FeedFreshness> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(meters);
        this.stats = stats;
        this.status = status;
        this.time = time;
        this.logger = logger;
        staleAfter = TimeSpan.FromSeconds(options.Value.StaleAfterSeconds);

        // What clients are told, for alerts and the dashboard: 1 while the feed is stale.
        meters.Create(IngestStats.MeterName).CreateObservableGauge(
            "marketstream.ingest.feed_stale", () => State.IsStale ? 1 : 0, description: "1 while the feed is stale (clients have been told), 0 while it is live.");
    }

    /// <summary>Raised (on the checking thread) when the feed turns stale or live again.</summary>
    public event Action<FeedState>? Changed;

    /// <summary>The feed's state now.</summary>
    public FeedState State
    {
        get
        {
            lock (gate)
            {
                return new FeedState(staleSince is not null, staleSince);
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lastProgress = time.GetUtcNow();
        timer = time.CreateTimer(static s => ((FeedFreshness)s!).Check(), this, Period, Period);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        return Task.CompletedTask;
    }

    /// <summary>One look at the ingest's counters; public for tests that drive the clock.</summary>
    public void Check()
    {
        FeedState? changed = null;
        lock (gate)
        {
            var now = time.GetUtcNow();
            var consumed = stats.Consumed;
            if (consumed != lastConsumed)
            {
                lastConsumed = consumed;
                lastProgress = now;
            }

            var silentFor = now - lastProgress;
            var unreachableFor = status.LastBrokerContact is { } contact ? now - contact : TimeSpan.Zero;
            var stale = silentFor >= staleAfter && (unreachableFor >= staleAfter || stats.Lag > 0);
            if (stale && staleSince is null)
            {
                staleSince = lastProgress;
                changed = new FeedState(true, staleSince);
                LogStale(logger, silentFor.TotalSeconds);
            }
            else if (!stale && staleSince is not null)
            {
                staleSince = null;
                changed = new FeedState(false, null);
                LogLive(logger);
            }
        }

        if (changed is { } state)
        {
            Changed?.Invoke(state);
        }
    }

    public void Dispose() => timer?.Dispose();

    [LoggerMessage(EventId = 230, Level = LogLevel.Warning, Message = "The feed is stale: nothing received for {Seconds:F0} s while Kafka is unreachable or behind; clients are told")]
    private static partial void LogStale(ILogger logger, double seconds);

    [LoggerMessage(EventId = 231, Level = LogLevel.Information, Message = "The feed is live again; clients are told")]
    private static partial void LogLive(ILogger logger);
}

/// <summary>The feed's state: stale since a time (the last tick received), or live.</summary>
public readonly record struct FeedState(bool IsStale, DateTimeOffset? Since);
