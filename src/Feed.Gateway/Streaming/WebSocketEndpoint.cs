using MarketStream.Contracts;
using MarketStream.Gateway.Http;
using MarketStream.Gateway.Security;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// <c>GET /ws</c> (PROTOCOL.md section 2): checks the connect-time settings, takes a connection slot, upgrades,
/// runs the session's sender beside a receive loop, and cleans up whichever way the connection ends.
/// </summary>
internal sealed class WebSocketEndpoint(
    IOptions<AuthOptions> auth,
    SessionHost host,
    SessionRegistry registry,
    MarketStream.Ingest.IngestStatus ingest,
    GatewayStats stats,
    IOptions<GatewayOptions> options,
    TimeProvider time,
    ILogger<WebSocketEndpoint> logger)
{
    private readonly GatewayOptions options = options.Value;

    // One delegate for every connection (the connection is the session's transport), so a connection carries no
    // closure of its own.
    private static readonly Func<Session, Task> Receive = session => ((WebSocketConnection)session.Transport).ReceiveAsync(session);

    public async Task HandleAsync(HttpContext context)
    {
        if (!WebSocketHandshake.IsUpgradeRequest(context))
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status426UpgradeRequired, "upgrade_required", "this endpoint speaks WebSocket: send an upgrade request").ConfigureAwait(false);
            return;
        }

        if (await Admission.RefusedAsync(context, registry, ingest).ConfigureAwait(false))
        {
            return;
        }

        if (!ConnectSettings.TryRead(ConnectSettings.Query(context), options, out var throttleMs, out var policy, out var delta, out var problem))
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.BadRequest, problem!).ConfigureAwait(false);
            return;
        }

        // The bearer subprotocol is read by authentication and never selected: the gateway answers with
        // marketstream.v1, so a client that offers a token this way must offer marketstream.v1 too (a browser
        // fails a handshake that selects none of the subprotocols it offered).
        var requested = WebSocketHandshake.RequestedProtocols(context.Request);
        var speaksProtocol = requested.Contains(ServerMessages.Protocol);
        if (!speaksProtocol && BearerSubprotocol.IsOffered(requested))
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.BadRequest,
                $"offer the {ServerMessages.Protocol} subprotocol beside the bearer one").ConfigureAwait(false);
            return;
        }

        var subProtocol = speaksProtocol ? ServerMessages.Protocol : null;
        var identity = ConnectionIdentity.Of(context, auth.Value.Enabled);
        var reservation = registry.TryReserve(identity);
        if (reservation is Reservation.AddressLimit or Reservation.SubjectLimit)
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status429TooManyRequests, "too_many_connections",
                reservation == Reservation.AddressLimit ? "too many connections from this address" : "too many connections for this user").ConfigureAwait(false);
            return;
        }

        if (reservation == Reservation.GatewayFull)
        {
            await RefuseAsync(context, subProtocol).ConfigureAwait(false);
            return;
        }

        try
        {
            var compression = options.Compression ? PerMessageDeflate.Negotiate(context.Request.Headers.SecWebSocketExtensions, options.CompressionContext) : null;
            var stream = await WebSocketHandshake.AcceptAsync(context, subProtocol, compression?.Response).ConfigureAwait(false);
            var connection = new WebSocketConnection(context, stream, options, time, logger, compression);
            await host.RunAsync(connection, throttleMs, policy, identity, Receive, delta).ConfigureAwait(false);
        }
        finally
        {
            registry.Release(identity);
        }
    }

    /// <summary>The protocol answers a full gateway with close code 1013, so a client knows to retry later.</summary>
    private async Task RefuseAsync(HttpContext context, string? subProtocol)
    {
        var stream = await WebSocketHandshake.AcceptAsync(context, subProtocol).ConfigureAwait(false);
        var connection = new WebSocketConnection(context, stream, options, time, logger);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(options.CloseTimeoutMs), time);
        try
        {
            await connection.CloseAsync(CloseCodes.TryAgainLater, "connection limit reached", timeout.Token).ConfigureAwait(false);

            // Wait for the client's answer (a close frame, whose first byte is 0x88) or the timeout, so the
            // client has read the code before the connection ends.
            var buffer = new byte[256];
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token).ConfigureAwait(false)) > 0 && buffer[0] != 0x88)
            {
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            connection.Abort();
        }

        stats.ConnectionRefused();
    }
}

/// <summary>The connect-time settings of the query string: <c>/ws?throttleMs=250&amp;policy=conflate&amp;delta=true</c>.</summary>
internal static class ConnectSettings
{
    /// <summary>
    /// The request's query, parsed for this look only. <c>HttpRequest.Query</c> would keep its parsed collection
    /// for the life of the request, which for a stream is the life of the connection.
    /// </summary>
    public static IQueryCollection Query(HttpContext context) =>
        new QueryCollection(QueryHelpers.ParseQuery(context.Request.QueryString.Value));

    /// <param name="delta">The <c>delta</c> extension: quotes in <c>updates</c> carry only the fields that changed (<c>delta=true</c>).</param>
    public static bool TryRead(IQueryCollection query, GatewayOptions options, out int throttleMs, out DeliveryPolicy policy, out bool delta, out string? problem)
    {
        throttleMs = options.ThrottleMs;
        policy = options.DefaultPolicy;
        delta = false;
        problem = null;
        if (query.TryGetValue("throttleMs", out var t))
        {
            if (!int.TryParse(t, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out throttleMs)
                || throttleMs is < ThrottleLimits.MinMs or > ThrottleLimits.MaxMs)
            {
                problem = $"throttleMs must be an integer from {ThrottleLimits.MinMs} to {ThrottleLimits.MaxMs}";
                return false;
            }
        }

        if (query.TryGetValue("policy", out var p) && !DeliveryPolicies.TryParse(p, out policy))
        {
            problem = $"policy must be one of: {DeliveryPolicies.Names}";
            return false;
        }

        if (query.TryGetValue("delta", out var d) && !bool.TryParse(d, out delta))
        {
            problem = "delta must be true or false";
            return false;
        }

        return true;
    }
}
