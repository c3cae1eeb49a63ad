using MarketStream.Contracts;
using MarketStream.Gateway.Security;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// Runs one connection's session over its transport, whichever transport it is (like SignalR's
/// <c>HubConnectionHandler</c>): creates and registers the session, starts its sender, runs the transport's
/// receive path beside it, and, whatever is thrown on either side, closes the session (aborting the transport
/// if need be) and unregisters it, so the registry, the subscription index and the connections gauge never keep
/// a dead session.
/// </summary>
internal sealed partial class SessionHost(SessionFactory sessions, SessionRegistry registry, ILogger<SessionHost> logger)
{
    /// <summary>
    /// Runs the session until the connection is over. <paramref name="receive"/> is the transport's receive path
    /// (a WebSocket's frames, an SSE request's lifetime); when it returns, the session is closed if it is not yet.
    /// </summary>
    public async Task RunAsync(
        ISessionTransport transport,
        int throttleMs,
        DeliveryPolicy policy,
        ConnectionIdentity identity,
        Func<Session, Task> receive,
        bool delta = false)
    {
        using var session = sessions.Create(transport, throttleMs, policy, identity, delta);
        var run = Task.CompletedTask;
        try
        {
            run = session.RunAsync();
            registry.Add(session, run);
            await receive(session).ConfigureAwait(false);
            session.BeginClose(CloseCodes.Normal, "connection ended");
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogReceiveFault(logger, ex, session.Id);
            session.BeginClose(CloseCodes.InternalError, "server error");
            transport.Abort();
        }
        finally
        {
            try
            {
                // Never faults, and ends within the close timeout: a client that does not finish the close is aborted.
                await run.ConfigureAwait(false);
            }
            finally
            {
                registry.Remove(session);
            }
        }
    }

    [LoggerMessage(EventId = 510, Level = LogLevel.Error, Message = "Session {SessionId}: unexpected fault on the receive path; the connection is closed")]
    private static partial void LogReceiveFault(ILogger logger, Exception exception, string sessionId);
}
