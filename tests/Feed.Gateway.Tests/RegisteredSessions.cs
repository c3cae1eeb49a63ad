using MarketStream.Gateway.Streaming;

namespace MarketStream.Gateway.Tests;

/// <summary>
/// The gateway's one session, once it is in the registry. A session starts sending (its hello) a moment before the
/// host registers it, so a client can read its hello before the registry lists it: wait for the registry first.
/// </summary>
internal static class RegisteredSessions
{
    public static async Task<Session> OnlyAsync(GatewayHost gateway)
    {
        var registry = gateway.Get<SessionRegistry>();
        await Eventually.Holds(() => registry.Snapshot().Count > 0, "the session to be registered");
        return Assert.Single(registry.Snapshot());
    }
}
