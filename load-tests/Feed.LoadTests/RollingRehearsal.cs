using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using MarketStream.Client;
using MarketStream.Contracts;

namespace MarketStream.LoadTests;

/// <summary>
/// rolling: a rollout rehearsed with real parts on one machine. The simulator's broker and producer, three (by
/// default) gateway replicas, Debian's nginx in front of them with the Ingress's settings, and a fleet of
/// <see cref="FeedClient"/>s that reconnect as terminals do. Under load, in turn: a rolling restart (SIGTERM,
/// drain, exit, start, ready, the next replica only then), a crash (SIGKILL and a restart), and a broker outage.
/// Per phase it reports what clients lived through: gaps without updates, reconnects and their spread, seq
/// regressions and duplicates delivered to the application, errors, and clients left unconnected.
/// </summary>
internal static class RollingRehearsal
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    public static async Task RunAsync(ScenarioSettings s, RunReport report, string outDir, TextWriter log, CancellationToken ct)
    {
        _ = Nginx.Binary(log);
        await using var topology = new Topology(outDir, log);
        await topology.StartSimulatorAsync(s.TicksPerSecond, s.Universe(), s.Partitions, null, cluster: null, ct, s.Brokers, ["--Feed:Kafka:Properties:linger.ms=50"]).ConfigureAwait(false);
        report.Broker = topology.Broker;

        var replicas = Enumerable.Range(1, s.Replicas).Select(i => new Replica($"replica-{i}", Topology.FreePort(), topology, s, outDir, log)).ToList();
        try
        {
            await Task.WhenAll(replicas.Select(r => r.StartAsync(ct))).ConfigureAwait(false);
            await using var nginx = await Nginx.StartAsync(outDir, [.. replicas.Select(r => r.Port)], log, ct).ConfigureAwait(false);
            report.Gateway = $"{s.Replicas} replicas of MarketStream's gateway (`Feed.Gateway.dll`, each its own process on its own port) behind nginx (pid {nginx.Pid}, "
                + "`load-tests/Feed.LoadTests/Rehearsal/nginx.conf`: the ingress-nginx Ingress's settings as directives)";
            await using var fleet = new RehearsalFleet(new Uri($"ws://127.0.0.1:{nginx.Port}/ws"), s);
            await RehearseAsync(s, report, outDir, log, topology, replicas, nginx, fleet, ct).ConfigureAwait(false);
        }
        finally
        {
            foreach (var r in replicas)
            {
                await r.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task RehearseAsync(ScenarioSettings s, RunReport report, string outDir, TextWriter log, Topology topology, List<Replica> replicas, Nginx nginx, RehearsalFleet fleet, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var phase = "ramp";
        var perReplica = replicas.ToDictionary(r => r.Name, _ => new List<(double T, double V)>());
        var lagPerReplica = replicas.ToDictionary(r => r.Name, _ => new List<(double T, double V)>());
        var reconnectsPerSecond = new List<(double T, double V)>();
        var bufferedSeries = new List<(double T, double V)>();
        var cpu0 = (Gateways: replicas.Sum(r => r.CpuSeconds()), Nginx: nginx.CpuSeconds(), Harness: ProcStat.CpuSeconds(Environment.ProcessId));
        using var stopSampling = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var sampling = Task.Run(async () =>
        {
            var sample = TimeSpan.FromSeconds(0.5);
            var lastQuotes = fleet.Quotes;
            var lastConnects = fleet.Connects;
            var last = clock.Elapsed;
            var lastCpu = (Gateways: replicas.Sum(r => r.CpuSeconds()), Simulator: ProcStat.CpuSeconds(topology.Simulator!.Pid), Harness: ProcStat.CpuSeconds(Environment.ProcessId));
            // Stopping cancels a scrape or a delay in flight: the loop ends there, and an error of the phases is not hidden
            // behind the sampler's cancellation.
            try
            {
                while (!stopSampling.IsCancellationRequested)
                {
                    await Task.Delay(sample, stopSampling.Token).ConfigureAwait(false);

                    var t = clock.Elapsed;
                    var dt = (t - last).TotalSeconds;
                    last = t;
                    double rss = 0;
                    foreach (var r in replicas)
                    {
                        var (connections, lag, replicaRss) = await r.SampleAsync(stopSampling.Token).ConfigureAwait(false);
                        rss += replicaRss;
                        lock (perReplica)
                        {
                            perReplica[r.Name].Add((Math.Round(t.TotalSeconds, 2), connections));
                            lagPerReplica[r.Name].Add((Math.Round(t.TotalSeconds, 2), lag));
                        }
                    }

                    var quotes = fleet.Quotes;
                    var connects = fleet.Connects;
                    lock (perReplica)
                    {
                        reconnectsPerSecond.Add((Math.Round(t.TotalSeconds, 2), (connects - lastConnects) / dt));
                    }

                    var cpu = (Gateways: replicas.Sum(r => r.CpuSeconds()), Simulator: ProcStat.CpuSeconds(topology.Simulator!.Pid), Harness: ProcStat.CpuSeconds(Environment.ProcessId));
                    var maxLag = 0.0;
                    lock (perReplica)
                    {
                        maxLag = lagPerReplica.Values.Max(l => l.Count > 0 ? l[^1].V : 0);
                        bufferedSeries.Add((Math.Round(t.TotalSeconds, 2), fleet.Buffered));
                    }

                    lock (report.Samples)
                    {
                        // The "lag" column holds the largest consumer lag of the replicas.
                        report.Samples.Add(new Sample(Math.Round(t.TotalSeconds, 2), Volatile.Read(ref phase), Math.Round(rss / 1048576.0, 1),
                            Math.Round(100 * (cpu.Gateways - lastCpu.Gateways) / dt, 1), Math.Round(100 * (cpu.Simulator - lastCpu.Simulator) / dt, 1), Math.Round(100 * (cpu.Harness - lastCpu.Harness) / dt, 1), 0,
                            Math.Round((quotes - lastQuotes) / dt), 0, 0, fleet.ConnectedCount(), 0, maxLag, 0));
                    }

                    lastCpu = cpu;

                    lastQuotes = quotes;
                    lastConnects = connects;
                }
            }
            catch (OperationCanceledException) when (stopSampling.IsCancellationRequested)
            {
            }
        }, CancellationToken.None);

        var phases = new List<RehearsalPhase>();
        try
        {
            log.WriteLine($"  ramp: {s.Clients:N0} clients x {s.SymbolsPerClient} symbols through nginx over {s.RampSeconds:0.#} s, from {s.SourceAddresses} loopback source address(es)");
            await fleet.ConnectAllAsync(TimeSpan.FromSeconds(s.RampSeconds), ct).ConfigureAwait(false);
            var settle = TimeSpan.FromSeconds(s.DurationSeconds);

            // Each phase runs its event, then lets the fleet settle, and ends with a count of who is still not back.
            async Task RunPhase(string name, string description, Func<RehearsalPhase, Task> run)
            {
                Volatile.Write(ref phase, name);
                log.WriteLine($"  phase {name}: {description}");
                var p = fleet.Begin(name, description, clock.Elapsed.TotalSeconds);
                await run(p).ConfigureAwait(false);
                await Task.Delay(settle, ct).ConfigureAwait(false);
                await fleet.EndAsync(p, clock.Elapsed.TotalSeconds).ConfigureAwait(false);
                phases.Add(p);
                log.WriteLine($"    {p.Summary()}");
            }

            await RunPhase("steady", $"{s.WarmupSeconds:0.#} s of normal service: the baseline", _ => Task.Delay(TimeSpan.FromSeconds(s.WarmupSeconds), ct)).ConfigureAwait(false);

            await RunPhase("rolling restart", $"each of the {replicas.Count} replicas in turn: SIGTERM (drain over {s.DrainSeconds} s with 1001), exit, start, ready; then the next", async p =>
            {
                p.ExpectedCloses.Add("server closed 1001");
                foreach (var r in replicas)
                {
                    var signalled = clock.Elapsed.TotalSeconds;
                    var exited = await r.TerminateAsync(TimeSpan.FromSeconds(s.DrainSeconds + 15), ct).ConfigureAwait(false);
                    p.Events.Add($"{r.Name}: SIGTERM at {signalled:0.0} s, {(exited ? $"exited by itself at {clock.Elapsed.TotalSeconds:0.0} s" : "still running after the drain and 15 s more: killed")}");
                    if (!exited)
                    {
                        p.Errors.Add($"{r.Name} did not exit within its drain window and 15 s more");
                    }

                    await r.StartAsync(ct).ConfigureAwait(false);
                    p.Events.Add($"{r.Name}: ready again at {clock.Elapsed.TotalSeconds:0.0} s");
                }
            }).ConfigureAwait(false);

            // The replica holding the most clients now (a rolling restart leaves the last one restarted nearly empty).
            Replica victim;
            lock (perReplica)
            {
                victim = replicas.MaxBy(r => perReplica[r.Name].Count > 0 ? perReplica[r.Name][^1].V : 0)!;
            }

            await RunPhase("crash", $"{victim.Name}, the replica with the most clients, is killed with SIGKILL (no drain), then started again", async p =>
            {
                p.ExpectedCloses.Add("connection lost");
                p.Mark(clock.Elapsed.TotalSeconds, affectedOnly: true);
                await victim.KillAsync().ConfigureAwait(false);
                p.Events.Add($"{victim.Name}: SIGKILL at {p.MarkSeconds:0.0} s");
                await victim.StartAsync(ct).ConfigureAwait(false);
                p.Events.Add($"{victim.Name}: ready again at {clock.Elapsed.TotalSeconds:0.0} s");
            }).ConfigureAwait(false);

            await RunPhase("broker outage", $"every broker stops answering for {s.OutageSeconds:0.#} s while the replicas run", async p =>
            {
                await topology.SetBrokersAsync(up: false, ct).ConfigureAwait(false);
                p.Events.Add($"brokers down at {clock.Elapsed.TotalSeconds:0.0} s");
                await Task.Delay(TimeSpan.FromSeconds(s.OutageSeconds), ct).ConfigureAwait(false);
                p.Mark(clock.Elapsed.TotalSeconds, affectedOnly: false);
                await topology.SetBrokersAsync(up: true, ct).ConfigureAwait(false);
                p.Events.Add($"brokers up at {p.MarkSeconds:0.0} s");
            }).ConfigureAwait(false);
        }
        finally
        {
            await stopSampling.CancelAsync().ConfigureAwait(false);
            await sampling.ConfigureAwait(false);
        }

        var seconds = clock.Elapsed.TotalSeconds;
        report.Deliveries = fleet.Quotes;
        report.Phases.AddRange(phases.Select(p => p.Result()));
        foreach (var p in phases)
        {
            report.Latency[p.Name] = LatencySummary.From(p.Latency.Total);
        }

        Report(s, report, phases);
        report.Add("quotes delivered to the applications (all phases)", fleet.Quotes, "quotes");
        report.Add("quotes the client library held back as not newer than one already delivered (a snapshot after a reconnect repeats what was seen)", fleet.NotNewer, "quotes");
        report.Add("epoch changes seen by clients (every replica must name the same stream)", fleet.EpochChanges, "");
        report.Add("gateway replicas' CPU, summed (whole run)", Math.Round(100 * (replicas.Sum(r => r.CpuSeconds()) - cpu0.Gateways) / seconds, 1), "% of one core");
        report.Add("nginx CPU (whole run)", Math.Round(100 * (nginx.CpuSeconds() - cpu0.Nginx) / seconds, 1), "% of one core");
        report.Add("harness CPU (clients, whole run)", Math.Round(100 * (ProcStat.CpuSeconds(Environment.ProcessId) - cpu0.Harness) / seconds, 1), "% of one core");
        foreach (var p in phases.Where(p => p.Events.Count > 0))
        {
            report.Notes.Add($"{p.Name}: {string.Join("; ", p.Events)}.");
        }

        report.Notes.Add("The producer batches for 50 ms (`linger.ms`; the other scenarios use 1 ms): the embedded broker hands a consumer that is behind "
            + "about one producer batch per partition per fetch, so with 1 ms batches a restarted replica never caught up with 2,000 ticks/s (see load-tests/README.md, \"Scale-out rehearsal\").");

        lock (perReplica)
        {
            var starts = phases.Select(p => (p.StartSeconds, p.Name)).ToList();
            File.WriteAllText(Path.Combine(outDir, "connections-per-replica.svg"), Svg.TimeSeries("rolling: connected clients per replica (each replica's marketstream_gateway_connections)", "connections",
                perReplica.ToDictionary(kv => kv.Key, kv => kv.Value), starts));
            File.WriteAllText(Path.Combine(outDir, "consumer-lag-per-replica.svg"), Svg.TimeSeries("rolling: consumer lag per replica (ticks on the broker not yet read)", "ticks",
                lagPerReplica.ToDictionary(kv => kv.Key, kv => kv.Value), starts));
            File.WriteAllText(Path.Combine(outDir, "client-backlog.svg"), Svg.TimeSeries("rolling: quotes received by the client libraries, not yet read by the application (all clients)", "quotes",
                new Dictionary<string, List<(double T, double V)>> { ["buffered"] = bufferedSeries }, starts));
            File.WriteAllText(Path.Combine(outDir, "reconnects-over-time.svg"), Svg.TimeSeries("rolling: client connects per second (the ramp, then reconnects)", "connects/s",
                new Dictionary<string, List<(double T, double V)>> { ["connects/s"] = reconnectsPerSecond }, starts));
        }

        report.ExtraPlots.AddRange(["connections-per-replica.svg", "consumer-lag-per-replica.svg", "client-backlog.svg", "reconnects-over-time.svg"]);
    }

    private static void Report(ScenarioSettings s, RunReport report, List<RehearsalPhase> phases)
    {
        foreach (var p in phases)
        {
            var r = p.Result();
            report.Add($"{p.Name}: longest gap without updates per client, p50", r.GapP50Ms, "ms");
            report.Add($"{p.Name}: longest gap without updates per client, p99", r.GapP99Ms, "ms");
            report.Add($"{p.Name}: longest gap without updates per client, max", r.GapMaxMs, "ms");
            report.Add($"{p.Name}: reconnects", r.Reconnects, "");
            report.Add($"{p.Name}: most reconnects in one second", r.MostReconnectsInOneSecond, "");
            report.Add($"{p.Name}: reconnects spread over (first to last)", r.ReconnectSpreadSeconds, "s");
            if (r.RecoveryP99Ms is not null)
            {
                report.Add($"{p.Name}: {r.RecoveryMeasures}, p50", r.RecoveryP50Ms ?? 0, "ms");
                report.Add($"{p.Name}: {r.RecoveryMeasures}, p99", r.RecoveryP99Ms.Value, "ms");
                report.Add($"{p.Name}: {r.RecoveryMeasures}, max", r.RecoveryMaxMs ?? 0, "ms");
            }

            report.Add($"{p.Name}: seq regressions delivered", r.SeqRegressions, "");
            report.Add($"{p.Name}: quotes delivered twice", r.Duplicates, "");
            report.Add($"{p.Name}: client-visible errors other than the expected closes", r.Errors, "");
            report.Add($"{p.Name}: clients not connected at the end", r.ClientsLost, "");
            report.Add($"{p.Name}: clients connected but without an update in their last second", r.ClientsSilent, "");
            if (r.Errors > 0 || r.ClientsLost > 0 || r.SeqRegressions > 0 || r.Duplicates > 0)
            {
                report.ClientErrors += r.Errors + r.ClientsLost + r.SeqRegressions + r.Duplicates;
                report.ErrorSamples.AddRange(p.ErrorSamples().Select(e => $"{p.Name}: {e}"));
            }
        }

        var rolling = phases.FirstOrDefault(p => p.Name == "rolling restart")?.Result();
        var crash = phases.FirstOrDefault(p => p.Name == "crash")?.Result();
        var outage = phases.FirstOrDefault(p => p.Name == "broker outage")?.Result();
        if (rolling is not null)
        {
            report.Target("rolling restart: seq regressions, duplicates, clients lost", "0", rolling.SeqRegressions + rolling.Duplicates + rolling.ClientsLost, "", rolling.SeqRegressions + rolling.Duplicates + rolling.ClientsLost == 0);
            report.Target("rolling restart: longest per-client gap, p99", "<= 3000 ms", rolling.GapP99Ms, "ms", rolling.GapP99Ms <= 3000);
        }

        if (crash is { RecoveryP99Ms: { } crashRecovery })
        {
            report.Target("SIGKILL of one replica: affected clients back to updates, p99", "<= 5000 ms", crashRecovery, "ms", crashRecovery <= 5000);
        }
        else if (crash is not null)
        {
            report.Notes.Add("crash: no client was connected to the killed replica, so no recovery was measured.");
        }

        if (outage is not null)
        {
            report.Target("broker outage: clients that reconnected (heartbeats must keep them)", "0", outage.Reconnects, "", outage.Reconnects == 0);
            if (outage.RecoveryP99Ms is { } outageRecovery)
            {
                report.Target("broker outage: updates resume after the broker's return, p99", "<= 2000 ms", outageRecovery, "ms", outageRecovery <= 2000);
            }
        }
    }

    /// <summary>One gateway replica on a fixed port: started, terminated, killed and started again on it.</summary>
    private sealed class Replica(string name, int port, Topology topology, ScenarioSettings s, string outDir, TextWriter log) : IAsyncDisposable
    {
        private GatewayUnderTest? gateway;
        private double pastCpuSeconds;
        private double lastCpuSeconds;

        public string Name => name;

        public int Port => port;

        public async Task StartAsync(CancellationToken ct)
        {
            gateway = await topology.StartMarketStreamAsync(
            [
                "--Feed:Kafka:LookbackMessages=1000",
                $"--Feed:Gateway:HeartbeatMs={s.HeartbeatMs.ToString(CultureInfo.InvariantCulture)}",
                $"--Feed:Gateway:DrainSeconds={s.DrainSeconds.ToString(CultureInfo.InvariantCulture)}",
                $"--Feed:Gateway:MaxConnections={Math.Max(50_000, s.Clients + 1_000).ToString(CultureInfo.InvariantCulture)}",
            ], outDir, waitReady: true, ReadyTimeout, ct, port, name).ConfigureAwait(false);
        }

        /// <summary>SIGTERM and a wait for the exit; true if the replica ended by itself within <paramref name="grace"/>.</summary>
        public async Task<bool> TerminateAsync(TimeSpan grace, CancellationToken ct)
        {
            var g = gateway!;
            var exited = await g.Process!.TerminateAsync(grace).WaitAsync(ct).ConfigureAwait(false);
            await StoppedAsync().ConfigureAwait(false);
            return exited;
        }

        public async Task KillAsync()
        {
            await gateway!.Process!.KillAsync().ConfigureAwait(false);
            await StoppedAsync().ConfigureAwait(false);
        }

        /// <summary>Its open connections and consumer lag (its own gauges) and RSS now; zeros while it is down.</summary>
        public async Task<(double Connections, double Lag, double RssBytes)> SampleAsync(CancellationToken ct)
        {
            var g = gateway;
            if (g?.Process is not { HasExited: false })
            {
                return (0, 0, 0);
            }

            var m = await g.ScrapeAsync(ct).ConfigureAwait(false);
            return (m?.Sum(MetricNames.Connections) ?? 0, m?.Sum(MetricNames.ConsumerLag) ?? 0, g.Usage()?.RssBytes ?? 0);
        }

        /// <summary>CPU seconds of every process this replica has been (a process's last reading counts once it is gone).</summary>
        public double CpuSeconds()
        {
            if (gateway?.Usage()?.CpuSeconds is { } now)
            {
                lastCpuSeconds = Math.Max(lastCpuSeconds, now);
            }

            return pastCpuSeconds + lastCpuSeconds;
        }

        private async Task StoppedAsync()
        {
            var g = gateway!;
            _ = CpuSeconds();
            gateway = null;
            pastCpuSeconds += lastCpuSeconds;
            lastCpuSeconds = 0;
            await g.DisposeAsync().ConfigureAwait(false);
            log.WriteLine($"  {name} stopped");
        }

        public async ValueTask DisposeAsync()
        {
            if (gateway is { } g)
            {
                gateway = null;
                await g.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}

/// <summary>What one phase's figures are, per client and then over the fleet; what report.json carries per phase.</summary>
internal sealed record PhaseResult(
    string Name,
    string Description,
    double StartSeconds,
    double EndSeconds,
    long SeqRegressions,
    long Duplicates,
    long ClientsLost,
    long ClientsSilent,
    long Errors,
    long Reconnects,
    long MostReconnectsInOneSecond,
    double ReconnectSpreadSeconds,
    double GapP50Ms,
    double GapP99Ms,
    double GapMaxMs,
    string? RecoveryMeasures,
    double? RecoveryP50Ms,
    double? RecoveryP99Ms,
    double? RecoveryMaxMs,
    int RecoveryClients,
    int NotRecovered,
    double SilenceBeforeCloseP99Ms,
    double BackAfterCloseP99Ms,
    IReadOnlyDictionary<string, long> Disconnects,
    IReadOnlyList<string> Events);

/// <summary>One phase as the fleet lives it: each client's counts, filled by its reader and its state events.</summary>
internal sealed class RehearsalPhase(string name, string description, double startSeconds, long startTimestamp, int clients)
{
    private readonly ConcurrentDictionary<string, long> disconnects = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> errorSamples = new();
    private readonly ConcurrentQueue<long> connectTimes = new();
    private PhaseResult? result;
    private long failedAttempts;

    public string Name => name;

    public double StartSeconds => startSeconds;

    public long StartTimestamp => startTimestamp;

    public ClientPhase[] Clients { get; } = [.. Enumerable.Range(0, clients).Select(_ => new ClientPhase())];

    /// <summary>Receive time minus the quote's <c>ts</c>, for every update (not snapshots, which are old by design).</summary>
    public LatencyRecorder Latency { get; } = new();

    /// <summary>Close kinds this phase provokes on purpose ("server closed 1001", "connection lost"); any other is an error.</summary>
    public HashSet<string> ExpectedCloses { get; } = [];

    /// <summary>What the harness did, and when.</summary>
    public List<string> Events { get; } = [];

    /// <summary>Failures of the harness's own actions (a replica that would not stop).</summary>
    public List<string> Errors { get; } = [];

    /// <summary>The moment recovery is measured from (the kill, the broker's return); 0 when the phase measures none.</summary>
    public long MarkTimestamp { get; private set; }

    public double MarkSeconds { get; private set; }

    /// <summary>Recovery counts only the clients that lost their connection after the mark (a crash), or every client (an outage).</summary>
    public bool AffectedOnly { get; private set; }

    public void Mark(double seconds, bool affectedOnly)
    {
        AffectedOnly = affectedOnly;
        MarkSeconds = seconds;
        MarkTimestamp = Stopwatch.GetTimestamp();
    }

    public void Disconnected(ClientPhase client, string kind, string? detail, long lastUpdate)
    {
        var now = Stopwatch.GetTimestamp();
        disconnects.AddOrUpdate(kind, 1, (_, n) => n + 1);
        Interlocked.Exchange(ref client.DisconnectedAt, now);
        var silence = now - Math.Max(lastUpdate, startTimestamp);
        if (silence > client.SilenceBeforeClose)
        {
            client.SilenceBeforeClose = silence;
        }

        client.BackCounted = false;

        if (!ExpectedCloses.Contains(kind))
        {
            Interlocked.Increment(ref client.Errors);
            if (errorSamples.Count < 20)
            {
                errorSamples.Enqueue($"{kind}{(detail is null ? string.Empty : $": {detail}")}");
            }
        }
    }

    public void Error(ClientPhase client, string what)
    {
        Interlocked.Increment(ref client.Errors);
        if (errorSamples.Count < 20)
        {
            errorSamples.Enqueue(what);
        }
    }

    /// <summary>A connect attempt that did not upgrade (not tied to one client: the handler is shared).</summary>
    public void AttemptFailed(string what)
    {
        Interlocked.Increment(ref failedAttempts);
        if (errorSamples.Count < 20)
        {
            errorSamples.Enqueue(what);
        }
    }

    public void Connected(ClientPhase client)
    {
        var now = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref client.Connects);
        Interlocked.Exchange(ref client.ReconnectedAt, now);
        connectTimes.Enqueue(now);
    }

    public IEnumerable<string> ErrorSamples() => Errors.Concat(errorSamples);

    /// <summary>Closes the phase: open gaps are counted to its end, and who is not back is counted as lost.</summary>
    public void End(double endSeconds, Func<int, (bool Connected, long LastUpdate)> state)
    {
        var end = Stopwatch.GetTimestamp();
        var lost = 0L;
        var silent = 0L;
        for (var i = 0; i < Clients.Length; i++)
        {
            var c = Clients[i];
            var (connected, lastUpdate) = state(i);
            var open = end - Math.Max(lastUpdate, startTimestamp);
            if (open > c.MaxGap)
            {
                c.MaxGap = open;
            }

            if (!connected)
            {
                lost++;
            }
            else if (Stopwatch.GetElapsedTime(lastUpdate, end) > TimeSpan.FromSeconds(1))
            {
                silent++;
            }
        }

        var times = connectTimes.Select(t => Stopwatch.GetElapsedTime(startTimestamp, t).TotalSeconds).Order().ToList();
        var most = 0;
        for (int lo = 0, hi = 0; hi < times.Count; hi++)
        {
            while (times[hi] - times[lo] > 1)
            {
                lo++;
            }

            most = Math.Max(most, hi - lo + 1);
        }

        var closedClients = Clients.Where(c => c.DisconnectedAt != 0).ToList();
        var gaps = Clients.Select(c => Stopwatch.GetElapsedTime(0, c.MaxGap).TotalMilliseconds).Order().ToList();
        List<double> recoveries = [];
        string? measures = null;
        var notRecovered = 0;
        if (MarkTimestamp != 0)
        {
            measures = AffectedOnly
                ? "time from the kill to the first update, per client that lost its connection (one still without an update counts the time to the phase's end)"
                : "time from the broker's return to the first update, per client (one still without an update counts the time to the phase's end)";
            recoveries = [.. Clients
                .Where(c => !AffectedOnly || c.DisconnectedAt >= MarkTimestamp)
                .Select(c => Stopwatch.GetElapsedTime(MarkTimestamp, c.FirstUpdateAfterMark == 0 ? end : c.FirstUpdateAfterMark).TotalMilliseconds)
                .Order()];
            notRecovered = Clients.Count(c => (!AffectedOnly || c.DisconnectedAt >= MarkTimestamp) && c.FirstUpdateAfterMark == 0);
        }

        result = new PhaseResult(
            name,
            description,
            Math.Round(startSeconds, 2),
            Math.Round(endSeconds, 2),
            Clients.Sum(c => c.Regressions),
            Clients.Sum(c => c.Duplicates),
            lost,
            silent,
            Clients.Sum(c => c.Errors) + Errors.Count + Interlocked.Read(ref failedAttempts),
            Clients.Sum(c => c.Connects),
            most,
            times.Count > 1 ? Math.Round(times[^1] - times[0], 2) : 0,
            Percentile(gaps, 0.50),
            Percentile(gaps, 0.99),
            gaps.Count > 0 ? Math.Round(gaps[^1], 1) : 0,
            measures,
            recoveries.Count > 0 ? Percentile(recoveries, 0.50) : null,
            recoveries.Count > 0 ? Percentile(recoveries, 0.99) : null,
            recoveries.Count > 0 ? Math.Round(recoveries[^1], 1) : null,
            recoveries.Count,
            notRecovered,
            Percentile([.. closedClients.Select(c => Stopwatch.GetElapsedTime(0, c.SilenceBeforeClose).TotalMilliseconds).Order()], 0.99),
            Percentile([.. closedClients.Select(c => Stopwatch.GetElapsedTime(0, c.BackCounted ? c.BackAfterClose : end - c.DisconnectedAt).TotalMilliseconds).Order()], 0.99),
            disconnects.ToDictionary(kv => kv.Key, kv => kv.Value),
            Events);
    }

    public PhaseResult Result() => result ?? throw new InvalidOperationException($"phase {name} has not ended");

    public string Summary()
    {
        var r = Result();
        var recovery = r.RecoveryP99Ms is { } p99 ? $", recovery p99 {Fmt(p99)} ms over {r.RecoveryClients} clients ({r.NotRecovered} without an update by the end)" : string.Empty;
        return $"gap p99 {Fmt(r.GapP99Ms)} ms (max {Fmt(r.GapMaxMs)}), {r.Reconnects} reconnects (at most {r.MostReconnectsInOneSecond} in 1 s){recovery}; "
            + $"regressions {r.SeqRegressions}, duplicates {r.Duplicates}, errors {r.Errors}, lost {r.ClientsLost}, silent {r.ClientsSilent}"
            + (r.Disconnects.Count > 0 ? $"; closes: {string.Join(", ", r.Disconnects.Select(d => $"{d.Key} x{d.Value}"))} (p99 silence before a close {Fmt(r.SilenceBeforeCloseP99Ms)} ms, close to next update {Fmt(r.BackAfterCloseP99Ms)} ms)" : string.Empty);
    }

    private static string Fmt(double v) => double.IsFinite(v) ? v.ToString("0.#", CultureInfo.InvariantCulture) : "never";

    private static double Percentile(List<double> sorted, double q)
    {
        if (sorted.Count == 0)
        {
            return 0;
        }

        var v = sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];
        return Math.Round(v, 1);
    }
}

/// <summary>One client's counts in one phase (Stopwatch timestamps; written by its reader and its events).</summary>
internal sealed class ClientPhase
{
    public long MaxGap;
    public long Regressions;
    public long Duplicates;
    public long Errors;
    public long Connects;
    public long DisconnectedAt;
    public long ReconnectedAt;
    public long FirstUpdateAfterMark;

    /// <summary>The longest silence between the last update and a close (a replica that stopped sending before it closed).</summary>
    public long SilenceBeforeClose;

    /// <summary>From the last close to the first update after it: the reconnect's own cost.</summary>
    public long BackAfterClose;
    public bool BackCounted;
}

/// <summary>
/// The rehearsal's clients: <see cref="FeedClient"/>s, as a terminal would use them (their own reconnects,
/// backoff with jitter, resubscription and seq filtering), each with a reader that checks what the application
/// gets: per symbol, seq strictly increasing (a lower one is a regression, the same one a duplicate).
/// </summary>
internal sealed class RehearsalFleet : IAsyncDisposable
{
    private readonly Uri endpoint;
    private readonly ScenarioSettings settings;
    private readonly List<HttpMessageInvoker> invokers = [];
    private readonly List<Member> members = [];
    private readonly CancellationTokenSource stop = new();
    private RehearsalPhase current;

    public RehearsalFleet(Uri endpoint, ScenarioSettings settings)
    {
        this.endpoint = endpoint;
        this.settings = settings;
        current = new RehearsalPhase("ramp", "clients connect", 0, Stopwatch.GetTimestamp(), settings.Clients);
        foreach (var address in LoopbackSources.Addresses(settings.SourceAddresses, first: 2))
        {
            invokers.Add(InvokerFrom(address));
        }
    }

    public long Quotes => Members().Sum(m => Interlocked.Read(ref m.Quotes));

    public long Connects => Members().Sum(m => Interlocked.Read(ref m.ConnectCount));

    public long NotNewer => Members().Sum(m => m.Client.Counters.QuotesNotNewer);

    public long EpochChanges => Members().Sum(m => m.Client.Counters.EpochChanges);

    public int ConnectedCount() => Members().Count(m => m.Client.State == ConnectionState.Connected);

    /// <summary>The clients so far (the sampler reads while the ramp adds).</summary>
    private Member[] Members()
    {
        lock (members)
        {
            return [.. members];
        }
    }

    /// <summary>Connects and subscribes every client, spread over <paramref name="ramp"/>; each has its snapshot when this returns.</summary>
    public async Task ConnectAllAsync(TimeSpan ramp, CancellationToken ct)
    {
        var universe = settings.Universe();
        var clock = Stopwatch.StartNew();
        var pending = new List<Task>();
        for (var i = 0; i < settings.Clients; i++)
        {
            var due = ramp * i / Math.Max(1, settings.Clients);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed, ct).ConfigureAwait(false);
            }

            var member = new Member(this, i, new FeedClient(new FeedClientOptions
            {
                Endpoint = endpoint,
                ThrottleMs = settings.ThrottleMs,
                Policy = DeliveryPolicies.TryParse(settings.Policy, out var policy) ? policy : null,
                HttpInvoker = invokers[i % invokers.Count],
            }));
            lock (members)
            {
                members.Add(member);
            }

            pending.Add(member.StartAsync(settings.WatchlistOf(i, universe), stop.Token, ct));
        }

        await Task.WhenAll(pending).WaitAsync(TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
    }

    public RehearsalPhase Begin(string name, string description, double startSeconds)
    {
        var p = new RehearsalPhase(name, description, startSeconds, Stopwatch.GetTimestamp(), Members().Length);
        Volatile.Write(ref current, p);
        return p;
    }

    /// <summary>Ends <paramref name="phase"/>: readers move on to a phase of their own first, so its counts stop moving before they are summed.</summary>
    public async Task EndAsync(RehearsalPhase phase, double endSeconds)
    {
        var all = Members();
        Volatile.Write(ref current, new RehearsalPhase("between phases", string.Empty, endSeconds, Stopwatch.GetTimestamp(), all.Length));
        await Task.Delay(100).ConfigureAwait(false);
        phase.End(endSeconds, i => (all[i].Client.State == ConnectionState.Connected, Interlocked.Read(ref all[i].LastUpdate)));
    }

    /// <summary>Quotes received by the client libraries and not yet read by the application, over every client.</summary>
    public long Buffered => Members().Sum(m => (long)m.Client.BufferedCount);

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(Members().Select(async m =>
        {
            await m.Client.DisposeAsync().ConfigureAwait(false);
            await m.Reading.ConfigureAwait(false);
        })).WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        foreach (var invoker in invokers)
        {
            invoker.Dispose();
        }

        stop.Dispose();
    }

    /// <summary>A handler that connects from <paramref name="local"/>: the loopback has all of 127/8, so clients can come from many addresses, as terminals do.</summary>
    private HttpMessageInvoker InvokerFrom(IPAddress local) => new(new AttemptWatch(this, new SocketsHttpHandler
    {
        UseProxy = false,
        ConnectCallback = (context, ct) => LoopbackSources.ConnectFromAsync(local, context.DnsEndPoint, ct),
    }));

    /// <summary>
    /// Sees every upgrade attempt's answer: one that is not 101 (a 502 from nginx with no replica to take it, a 503
    /// it could not retry elsewhere) or that fails is an error the client saw, counted in the phase it happened in.
    /// </summary>
    private sealed class AttemptWatch(RehearsalFleet fleet, HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            try
            {
                var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode != HttpStatusCode.SwitchingProtocols)
                {
                    Volatile.Read(ref fleet.current).AttemptFailed($"a connect attempt was answered HTTP {(int)response.StatusCode}");
                }

                return response;
            }
            catch (HttpRequestException ex)
            {
                Volatile.Read(ref fleet.current).AttemptFailed($"a connect attempt failed: {ex.Message}");
                throw;
            }
        }
    }

    private sealed class Member(RehearsalFleet fleet, int index, FeedClient client)
    {
        private readonly Dictionary<string, long> lastSeq = new(StringComparer.Ordinal);
        public long Quotes;
        public long ConnectCount;
        public long LastUpdate;

        public FeedClient Client => client;

        public Task Reading { get; private set; } = Task.CompletedTask;

        private ClientPhase Phase(out RehearsalPhase phase)
        {
            phase = Volatile.Read(ref fleet.current);
            return phase.Clients[index];
        }

        public async Task StartAsync(IReadOnlyList<string> watchlist, CancellationToken stop, CancellationToken ct)
        {
            client.StateChanged += OnStateChanged;
            client.ServerError += (_, e) =>
            {
                var p = Phase(out var phase);
                phase.Error(p, $"server error {e.Message}");
            };
            await client.ConnectAsync(ct).ConfigureAwait(false);
            await client.SubscribeAsync(watchlist, ct).ConfigureAwait(false);
            Reading = Task.Run(() => ReadAsync(stop), CancellationToken.None);
        }

        private void OnStateChanged(object? sender, ConnectionStateChangedEventArgs e)
        {
            var p = Phase(out var phase);
            if (e.Current == ConnectionState.Connected)
            {
                Interlocked.Increment(ref ConnectCount);
                phase.Connected(p);
            }
            else if (e.Previous == ConnectionState.Connected && e.Current == ConnectionState.Reconnecting)
            {
                var kind = e.Reason switch
                {
                    DisconnectReason.ServerClosed => $"server closed {e.CloseStatus?.ToString(CultureInfo.InvariantCulture) ?? "without a code"}",
                    DisconnectReason.ConnectionLost => "connection lost",
                    DisconnectReason.Stale => "stale (no heartbeat)",
                    _ => e.Reason.ToString(),
                };
                phase.Disconnected(p, kind, e.Exception?.Message, Interlocked.Read(ref LastUpdate));
            }
        }

        private async Task ReadAsync(CancellationToken stop)
        {
            try
            {
                await foreach (var u in client.ReadAllAsync(stop).ConfigureAwait(false))
                {
                    var now = Stopwatch.GetTimestamp();
                    var p = Phase(out var phase);
                    var gap = now - Math.Max(Interlocked.Read(ref LastUpdate), phase.StartTimestamp);
                    if (gap > p.MaxGap)
                    {
                        p.MaxGap = gap;
                    }

                    Interlocked.Exchange(ref LastUpdate, now);
                    var closed = p.DisconnectedAt;
                    if (closed != 0 && !p.BackCounted && p.ReconnectedAt >= closed)
                    {
                        p.BackAfterClose = Math.Max(p.BackAfterClose, now - closed);
                        p.BackCounted = true;
                    }

                    var mark = phase.MarkTimestamp;
                    if (mark != 0 && now >= mark && p.FirstUpdateAfterMark == 0 && (!phase.AffectedOnly || (p.DisconnectedAt >= mark && p.ReconnectedAt >= p.DisconnectedAt)))
                    {
                        p.FirstUpdateAfterMark = now;
                    }

                    if (!u.IsSnapshot)
                    {
                        phase.Latency.Record(((DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10) - u.Quote.Ts);
                    }

                    if (lastSeq.TryGetValue(u.Symbol, out var previous))
                    {
                        if (u.Seq < previous)
                        {
                            p.Regressions++;
                        }
                        else if (u.Seq == previous)
                        {
                            p.Duplicates++;
                        }
                    }

                    lastSeq[u.Symbol] = Math.Max(previous, u.Seq);
                    Interlocked.Increment(ref Quotes);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }
    }
}
