using MarketStream.Contracts;
using MarketStream.Gateway.Market;
using MarketStream.Gateway.Security;
using MarketStream.Ingest;
using Microsoft.Extensions.Options;

namespace MarketStream.Gateway.Streaming;

/// <summary>Makes sessions for either transport, with everything a session shares with the rest of the gateway.</summary>
internal sealed class SessionFactory(
    MarketState state,
    SubscriptionIndex index,
    GatewayStats stats,
    IOptions<GatewayOptions> options,
    TimeProvider time,
    SendScheduler scheduler,
    StreamEpoch epoch,
    ILoggerFactory loggerFactory,
    FeedFreshness? freshness = null)
{
    private readonly ILogger logger = loggerFactory.CreateLogger<Session>();

    public Session Create(ISessionTransport transport, int throttleMs, DeliveryPolicy policy, ConnectionIdentity identity, bool delta = false) =>
        new(transport, state, index, options.Value, stats, time, logger, throttleMs, policy, scheduler, identity.Entitlements, identity.ExpiresAt, epoch.Value, freshness?.State ?? default, delta);
}
