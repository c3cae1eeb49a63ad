using MarketStream.Gateway.Http;
using MarketStream.Ingest;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// Whether a new stream (WebSocket or SSE) may start on this replica. Not while it drains (its clients belong on
/// the other replicas), and not before its ingest has caught up with Kafka (DESIGN.md decision 2): a replica
/// still reading its look-back would send snapshots older than the market and hold updates back until it caught
/// up. Readiness says the same to Kubernetes; this answer is for whatever reaches the replica anyway (a balancer
/// without health checks, a client given its address): 503 with Retry-After, which a proxy can retry on another
/// replica and a client backs off from.
/// </summary>
internal static class Admission
{
    /// <summary>Answers 503 and returns true when a stream may not start now.</summary>
    public static async Task<bool> RefusedAsync(HttpContext context, SessionRegistry registry, IngestStatus ingest)
    {
        var reason = registry.IsDraining ? "the server is shutting down; connect to another replica"
            : !ingest.IsWarm ? "the server is still reading the current market from Kafka; connect to another replica or retry shortly"
            : null;
        if (reason is null)
        {
            return false;
        }

        context.Response.Headers.RetryAfter = "1";
        await HttpErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "unavailable", reason).ConfigureAwait(false);
        return true;
    }
}
