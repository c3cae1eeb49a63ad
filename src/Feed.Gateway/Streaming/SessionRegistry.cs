using System.Collections.Concurrent;
using MarketStream.Contracts;
using MarketStream.Gateway.Security;
using Microsoft.Extensions.Options;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// The live sessions of this gateway: enforces the connection limit, and on shutdown drains them, closing
/// each with 1001 at evenly spread moments across the drain window so that clients reconnect to the other
/// replicas gradually rather than in one stampede (DESIGN.md decision 9).
/// </summary>
public sealed partial class SessionRegistry(
    IOptions<GatewayOptions> options,
    IOptions<AuthOptions> auth,
    GatewayStats stats,
    TimeProvider time,
    ILogger<SessionRegistry> logger) : IHostedLifecycleService
{
    private readonly ConcurrentDictionary<Session, Task> sessions = new();

    // Connection counts per address and per token subject, and the gateway's total; one lock, since connects
    // and disconnects are rare next to ticks.
    private readonly Dictionary<string, int> perKey = new(StringComparer.Ordinal);
    private int reserved;
    private volatile bool draining;

    /// <summary>True from the moment shutdown begins: readiness turns false and no new connection is accepted.</summary>
    public bool IsDraining => draining;

    public int Count => sessions.Count;

    /// <summary>Takes a connection slot for <paramref name="identity"/>, within the per-address, per-subject and gateway limits.</summary>
    internal Reservation TryReserve(ConnectionIdentity identity)
    {
        var limits = auth.Value;
        lock (perKey)
        {
            if (limits.MaxConnectionsPerIp > 0 && ConnectionsOf(AddressKey(identity)) >= limits.MaxConnectionsPerIp)
            {
                return Reservation.AddressLimit;
            }

            if (identity.Subject is not null && ConnectionsOf(SubjectKey(identity)) >= limits.MaxConnectionsPerSubject)
            {
                return Reservation.SubjectLimit;
            }

            if (reserved >= options.Value.MaxConnections)
            {
                return Reservation.GatewayFull;
            }

            reserved++;
            Adjust(AddressKey(identity), +1);
            if (identity.Subject is not null)
            {
                Adjust(SubjectKey(identity), +1);
            }

            return Reservation.Granted;
        }
    }

    internal void Release(ConnectionIdentity identity)
    {
        lock (perKey)
        {
            reserved--;
            Adjust(AddressKey(identity), -1);
            if (identity.Subject is not null)
            {
                Adjust(SubjectKey(identity), -1);
            }
        }
    }

    private int ConnectionsOf(string key) => perKey.GetValueOrDefault(key);

    private void Adjust(string key, int delta)
    {
        var value = perKey.GetValueOrDefault(key) + delta;
        if (value <= 0)
        {
            perKey.Remove(key);
        }
        else
        {
            perKey[key] = value;
        }
    }

    private static string AddressKey(ConnectionIdentity identity) => "ip:" + identity.Address;

    private static string SubjectKey(ConnectionIdentity identity) => "sub:" + identity.Subject;

    internal void Add(Session session, Task run)
    {
        sessions[session] = run;
        stats.ConnectionOpened();
    }

    internal void Remove(Session session)
    {
        if (sessions.TryRemove(session, out _))
        {
            stats.ConnectionClosed(session.CloseCode ?? CloseCodes.Normal);
        }
    }

    /// <summary>The sessions now open (a copy), for tests and diagnostics.</summary>
    internal IReadOnlyList<Session> Snapshot() => [.. sessions.Keys];

    public Task StoppingAsync(CancellationToken cancellationToken) => DrainAsync(cancellationToken);

    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        draining = true;
        var open = sessions.ToArray();
        if (open.Length == 0)
        {
            return;
        }

        var window = TimeSpan.FromSeconds(options.Value.DrainSeconds);
        LogDraining(logger, open.Length, window.TotalSeconds);
        var started = time.GetTimestamp();
        try
        {
            for (var i = 0; i < open.Length; i++)
            {
                // Session i closes at i/n of the window.
                var due = window * i / open.Length;
                var delay = due - time.GetElapsedTime(started);
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
                }

                open[i].Key.BeginClose(CloseCodes.GoingAway, "server shutting down");
            }
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown timeout is shorter than the drain: close the rest now.
            foreach (var (session, _) in open)
            {
                session.BeginClose(CloseCodes.GoingAway, "server shutting down");
            }
        }

        // Each session finishes its close handshake within its close timeout; wait no longer than that.
        var closeTimeout = TimeSpan.FromMilliseconds(options.Value.CloseTimeoutMs + 1000);
        try
        {
            await Task.WhenAll(open.Select(s => s.Value)).WaitAsync(closeTimeout, time, CancellationToken.None).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            LogDrainIncomplete(logger, sessions.Count);
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 600, Level = LogLevel.Information, Message = "Draining: closing {Count} connections with 1001 over {WindowSeconds} s")]
    private static partial void LogDraining(ILogger logger, int count, double windowSeconds);

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "Drain finished with {Count} connections still closing; they are aborted")]
    private static partial void LogDrainIncomplete(ILogger logger, int count);
}

/// <summary>The answer to a connection asking for a slot.</summary>
internal enum Reservation
{
    Granted,
    GatewayFull,
    AddressLimit,
    SubjectLimit,
}
