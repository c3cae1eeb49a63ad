using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;

namespace MarketStream.LoadTests;

/// <summary>The seven scenarios. Each starts its own processes, runs its load simulation, and fills a <see cref="RunReport"/>.</summary>
internal static class Scenarios
{
    public static Task RunAsync(ScenarioSettings s, RunReport report, string outDir, TextWriter log, CancellationToken ct) => s.Scenario switch
    {
        "ingest" => IngestAsync(s, report, outDir, log, ct),
        "connections" => ConnectionsAsync(s, report, outDir, log, ct),
        "rolling" => RollingRehearsal.RunAsync(s, report, outDir, log, ct),
        _ => StreamingAsync(s, report, outDir, log, ct),
    };

    /// <summary>
    /// ingest: the producer puts N ticks on the broker first, then the gateway starts with a look-back that
    /// covers them all and reads them as fast as it can, with no clients. So what is measured is the gateway's
    /// intake (consume, decode, channel, merge), not the producer's speed, and the two never share a process.
    /// </summary>
    private static async Task IngestAsync(ScenarioSettings s, RunReport report, string outDir, TextWriter log, CancellationToken ct)
    {
        await using var topology = new Topology(outDir, log);
        await topology.StartSimulatorAsync(s.TicksPerSecond, s.Universe(), s.Partitions, s.IngestTicks, cluster: null, ct).ConfigureAwait(false);

        var produceClock = Stopwatch.StartNew();
        var onBroker = await WaitForBrokerAsync(topology.Bootstrap, s.Partitions, s.IngestTicks, TimeSpan.FromSeconds(s.TimeLimitSeconds / 2), ct).ConfigureAwait(false);
        report.Add("ticks on the broker (held, after its trimming)", onBroker, "ticks");
        report.Add("producer rate (filling the broker, a separate process)", Math.Round(s.IngestTicks / produceClock.Elapsed.TotalSeconds), "ticks/s");
        log.WriteLine($"  {onBroker:N0} ticks on the broker after {produceClock.Elapsed.TotalSeconds:0.0} s");

        // A look-back of the whole backlog on every partition: the gateway reads each one from its start
        // (keys do not spread evenly, so N / partitions would leave some ticks behind).
        var perPartition = Math.Min(10_000_000, s.IngestTicks);
        await using var gateway = await topology.StartMarketStreamAsync(
            [$"--Feed:Kafka:LookbackMessages={perPartition.ToString(CultureInfo.InvariantCulture)}"],
            outDir, waitReady: false, ReadyTimeout, ct).ConfigureAwait(false);
        Describe(report, topology, gateway);
        var threads0 = gateway.Threads();
        var simCpu0 = ProcStat.CpuSeconds(topology.Simulator!.Pid);

        // Scrape fast: the whole backlog goes in a few seconds.
        var clock = Stopwatch.StartNew();
        var points = new List<(double T, double Consumed, double Lag, double Depth, double Rss, double Cpu)>();
        var deadline = TimeSpan.FromSeconds(Math.Max(20, s.TimeLimitSeconds / 2));
        double consumed = 0;
        while (consumed < onBroker && clock.Elapsed < deadline)
        {
            var m = await gateway.ScrapeAsync(ct).ConfigureAwait(false);
            if (m is not null && m.Has(MetricNames.TicksConsumed))
            {
                consumed = m.Sum(MetricNames.TicksConsumed);
                var (cpu, rss) = gateway.Usage() ?? default;
                points.Add((clock.Elapsed.TotalSeconds, consumed, m.Sum(MetricNames.ConsumerLag), m.Sum(MetricNames.ChannelDepth), rss / 1048576.0, cpu));
            }

            await Task.Delay(50, ct).ConfigureAwait(false);
        }

        // A small backlog can be drained before the first scrape that shows it (the exporter caches /metrics):
        // one more point after the drain, so the report always has a curve over time.
        if (points.Count == 1)
        {
            var (cpu, rss) = gateway.Usage() ?? default;
            var last = points[0];
            points.Add((clock.Elapsed.TotalSeconds, last.Consumed, last.Lag, last.Depth, rss / 1048576.0, cpu));
        }

        report.Add("simulator (broker) CPU from the gateway's start to the end of the drain", Math.Round(100 * (ProcStat.CpuSeconds(topology.Simulator!.Pid) - simCpu0) / clock.Elapsed.TotalSeconds, 1), "% of one core");
        report.Notes.Add($"Busiest gateway threads from its start to the end of the drain (% of one core over {clock.Elapsed.TotalSeconds:0.0} s): {ProcStat.TopThreads(threads0, gateway.Threads(), clock.Elapsed.TotalSeconds)}.");
        foreach (var p in points)
        {
            report.Samples.Add(new Sample(Math.Round(p.T, 3), "drain", Math.Round(p.Rss, 1), 0, 0, 0, 0, 0, 0, 0, 0, p.Consumed, p.Lag, p.Depth));
        }

        // The steady rate: between 10 % and 90 % of the backlog, leaving out start-up and the tail. The
        // gateway's /metrics is cached for about 300 ms by the exporter, hence a backlog that takes seconds.
        var lo = points.FirstOrDefault(p => p.Consumed >= 0.1 * onBroker);
        var hi = points.FirstOrDefault(p => p.Consumed >= 0.9 * onBroker);
        var rate = hi.T > lo.T ? (hi.Consumed - lo.Consumed) / (hi.T - lo.T) : 0;
        var start = points.LastOrDefault(p => p.Consumed == 0);
        var done = points.FirstOrDefault(p => p.Consumed >= onBroker);
        if (done == default && points.Count > 0)
        {
            done = points[^1];
        }

        var busy = done.T - start.T;
        report.Deliveries = (long)consumed;
        report.Add("ticks consumed by the gateway", consumed, "ticks");
        report.Add("ingest rate (10 %–90 % of the backlog)", Math.Round(rate), "ticks/s");
        report.Add("ingest rate (whole backlog, last scrape before the first tick to the last)", busy > 0 ? Math.Round(done.Consumed / busy) : 0, "ticks/s");
        report.Add("peak consumer lag", points.Count > 0 ? points.Max(p => p.Lag) : 0, "ticks");
        report.Add("peak channel depth", points.Count > 0 ? points.Max(p => p.Depth) : 0, "ticks");
        report.Add("gateway CPU while draining", busy > 0 ? Math.Round(100 * (done.Cpu - start.Cpu) / busy, 1) : 0, "% of one core");
        report.Add("gateway RSS peak while draining", points.Count > 0 ? Math.Round(points.Max(p => p.Rss), 1) : 0, "MB");
        report.Target("ingest from a broker in another process", ">= 250,000 ticks/s", Math.Round(rate), "ticks/s", rate >= 250_000);
        if (consumed < onBroker)
        {
            report.ClientErrors++;
            report.ErrorSamples.Add($"the gateway consumed {consumed:N0} of {onBroker:N0} ticks within {deadline.TotalSeconds:0} s");
        }
    }

    /// <summary>
    /// Waits until <paramref name="wanted"/> ticks have been produced, and returns how many the broker holds
    /// (high minus low watermark: the in-memory broker trims each partition past about 5 MiB).
    /// </summary>
    private static async Task<long> WaitForBrokerAsync(string bootstrap, int partitions, long wanted, TimeSpan timeout, CancellationToken ct)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "loadtests-watermarks" }).Build();
        var clock = Stopwatch.StartNew();
        long produced = 0;
        while (clock.Elapsed < timeout)
        {
            produced = 0;
            long held = 0;
            for (var p = 0; p < partitions; p++)
            {
                var w = consumer.QueryWatermarkOffsets(new TopicPartition(Topology.Topic, p), TimeSpan.FromSeconds(5));
                produced += w.High.Value;
                held += w.High.Value - w.Low.Value;
            }

            if (produced >= wanted)
            {
                return held;
            }

            await Task.Delay(200, ct).ConfigureAwait(false);
        }

        throw new TimeoutException($"only {produced:N0} of {wanted:N0} ticks reached the broker in {timeout.TotalSeconds:0} s");
    }

    private static List<string> GatewaySettings(ScenarioSettings s) =>
    [
        "--Feed:Kafka:LookbackMessages=1000",
        $"--Feed:Gateway:HeartbeatMs={s.HeartbeatMs.ToString(CultureInfo.InvariantCulture)}",
        $"--Feed:Gateway:MaxConnections={Math.Max(50_000, s.Clients + 1_000).ToString(CultureInfo.InvariantCulture)}",
    ];

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The folder, inside a <c>--compare</c> run's, of the other gateway's report and log.</summary>
    internal const string VersusFolder = "versus";

    /// <summary>The gateway a run measures when it does not compare: <c>--target</c>'s, <c>--gateway-command</c>'s, or MarketStream's.</summary>
    private static Task<GatewayUnderTest> StartChosenAsync(ScenarioSettings s, Topology topology, string logDir, TextWriter log, CancellationToken ct) =>
        s.Target is { } target ? Topology.AttachAsync(target, log, ct)
        : s.GatewayCommand is { } command ? topology.StartCommandAsync("--gateway-command", command, logDir, ReadyTimeout, ct)
        : topology.StartMarketStreamAsync(GatewaySettings(s), logDir, waitReady: true, ReadyTimeout, ct);

    private static void Describe(RunReport report, Topology topology, GatewayUnderTest gateway)
    {
        report.Gateway = gateway.Description;
        report.Broker = topology.Broker;
    }

    /// <summary>
    /// fanout, latency, slow-consumers and soak: clients subscribed to watchlists of a ticking universe. With
    /// <c>--compare</c>, the same load twice on the same simulator: against MarketStream's gateway, then against
    /// the command's, the first stopped before the second starts so that they never share the cores.
    /// </summary>
    private static async Task StreamingAsync(ScenarioSettings s, RunReport report, string outDir, TextWriter log, CancellationToken ct)
    {
        await using var topology = new Topology(outDir, log);
        await topology.StartSimulatorAsync(s.TicksPerSecond, s.Universe(), s.Partitions, null, s.BootstrapServers, ct).ConfigureAwait(false);
        if (s.Compare is not { } command)
        {
            _ = await StreamingPassAsync(s, report, topology, () => StartChosenAsync(s, topology, outDir, log, ct), log, ct).ConfigureAwait(false);
            return;
        }

        var ours = await StreamingPassAsync(s, report, topology, () => topology.StartMarketStreamAsync(GatewaySettings(s), outDir, waitReady: true, ReadyTimeout, ct), log, ct).ConfigureAwait(false);
        var otherDir = Path.Combine(outDir, VersusFolder);
        Directory.CreateDirectory(otherDir);
        var other = new RunReport { Scenario = s.Scenario, Quick = s.Quick, Settings = s };
        var clock = Stopwatch.StartNew();
        log.WriteLine("  --compare: the same load against the other gateway");
        try
        {
            var theirs = await StreamingPassAsync(s, other, topology, () => topology.StartCommandAsync("--compare", command, otherDir, ReadyTimeout, ct), log, ct).ConfigureAwait(false);
            report.Comparison = new Comparison(command, ours, theirs);
        }
        finally
        {
            other.WallSeconds = clock.Elapsed.TotalSeconds;
            other.LoadAverageAtEnd = RunReport.LoadAverage();
            ReportWriter.Write(other, otherDir);
            foreach (var (name, curve) in other.LatencyCurves)
            {
                report.LatencyCurves[$"--compare: {name}"] = curve;
            }

            // The run's verdict covers both gateways: one that delivered nothing, or failed clients, fails it.
            if (!other.Ok)
            {
                report.ClientErrors += Math.Max(1, other.ClientErrors);
                report.ErrorSamples.Add($"the --compare gateway: {other.Deliveries:N0} quotes delivered, {other.ClientErrors} client errors ({VersusFolder}/report.md)");
                report.ErrorSamples.AddRange(other.ErrorSamples.Select(e => $"--compare: {e}"));
            }
        }
    }

    /// <summary>Starts a gateway, runs the load simulation against it, fills <paramref name="report"/>, and stops the gateway.</summary>
    private static async Task<GatewayFigures> StreamingPassAsync(ScenarioSettings s, RunReport report, Topology topology, Func<Task<GatewayUnderTest>> start, TextWriter log, CancellationToken ct)
    {
        var universe = s.Universe();
        await using var gateway = await start().ConfigureAwait(false);
        Describe(report, topology, gateway);
        var rssIdle = gateway.Usage()?.RssBytes;

        var slowCount = (int)Math.Round(s.Clients * s.SlowFraction);
        // Slow clients sit evenly among the others; half keep `conflate` (bounded by symbols), half use `disconnect`.
        var slowEvery = slowCount > 0 ? s.Clients / slowCount : int.MaxValue;
        bool IsSlow(int i) => slowCount > 0 && i % slowEvery == 0 && i / slowEvery < slowCount;
        string PolicyOf(int i) => IsSlow(i) && (i / slowEvery) % 2 == 1 ? "disconnect" : s.Policy;

        using var probe = new BrokerProbe(topology.Bootstrap);
        await using var fleet = new ClientFleet(gateway.Endpoints.WebSocket, s.SourceAddresses) { Deflate = s.Deflate, DeflatePerMessage = s.DeflatePerMessage };
        await using var sampler = new Sampler(gateway, topology.Simulator!, fleet, report, TimeSpan.FromSeconds(s.SampleSeconds));
        sampler.Phase = "ramp";
        log.WriteLine($"  ramp: {s.Clients:N0} clients x {s.SymbolsPerClient} symbols over {s.RampSeconds:0} s");
        var connectRate = await fleet.ConnectAsync(
            s.Clients,
            i => s.WatchlistOf(i, universe),
            IsSlow,
            i => $"?throttleMs={s.ThrottleMs.ToString(CultureInfo.InvariantCulture)}&policy={PolicyOf(i)}{s.DeltaQuery}",
            TimeSpan.FromSeconds(s.RampSeconds),
            s.ConnectConcurrency,
            16 * 1024,
            ct).ConfigureAwait(false);

        sampler.Phase = "warm-up";
        log.WriteLine($"  warm-up {s.WarmupSeconds:0} s (not recorded)");
        await Task.Delay(TimeSpan.FromSeconds(s.WarmupSeconds), ct).ConfigureAwait(false);

        // Measured window.
        var baseline = new LatencyRecorder();
        var kafkaOnly = new LatencyRecorder();
        probe.Recorder = kafkaOnly;
        fleet.Others = baseline;
        fleet.SlowGroup = slowCount > 0 ? new LatencyRecorder() : null;
        sampler.Phase = slowCount > 0 ? "baseline" : "measure";
        sampler.ResetPeak();
        log.WriteLine($"  {sampler.Phase} {s.DurationSeconds:0} s");
        var runtime0 = await gateway.ScrapeAsync(ct).ConfigureAwait(false);
        var window = await MeasureAsync(fleet, gateway, TimeSpan.FromSeconds(s.DurationSeconds), ct).ConfigureAwait(false);
        RuntimeFigures(report, runtime0, await gateway.ScrapeAsync(ct).ConfigureAwait(false), window.Seconds);
        double? rssMeasured = gateway.Process is null ? null : Math.Round(sampler.PeakRss / 1048576.0, 1);
        probe.Recorder = null;
        await StopRecordingAsync(fleet).ConfigureAwait(false);

        report.Add("clients", s.Clients, "");
        report.Add("connect rate", Math.Round(connectRate, 1), "connections/s");
        report.Add("frames delivered", Math.Round(window.Frames / window.Seconds), "frames/s");
        report.Add("updates frames delivered", Math.Round(window.UpdateFrames / window.Seconds), "frames/s");
        report.Add("quotes delivered", Math.Round(window.Quotes / window.Seconds), "quotes/s");
        report.Add("bytes delivered", Math.Round(window.Bytes / window.Seconds / 1048576.0, 2), "MB/s");
        if (window.GatewayCpuPct is { } cpu)
        {
            report.Add("gateway CPU", Math.Round(cpu, 1), "% of one core");
            if (window.Quotes > 0)
            {
                report.Add("gateway CPU per million quotes delivered", Math.Round(cpu / 100 / (window.Quotes / window.Seconds) * 1e6, 3), "core-s");
            }
        }

        report.Add("harness CPU (clients)", Math.Round(window.HarnessCpuPct, 1), "% of one core");
        if (rssIdle is { } idle && rssMeasured is { } peak)
        {
            report.Add("gateway RSS before clients", Math.Round(idle / 1048576.0, 1), "MB");
            report.Notes.Add($"Busiest gateway threads in the measured window (from /proc/<pid>/task, % of one core): {window.GatewayThreads}.");
            report.Add("gateway RSS peak (measured window)", peak, "MB");
        }

        report.Latency[slowCount > 0 ? "others, baseline" : "all clients"] = LatencySummary.From(baseline.Total);
        report.LatencyCurves[slowCount > 0 ? "others, baseline" : "all clients"] = Curve(baseline);
        report.Latency["Kafka hop only (a consumer in the harness, same broker and fetch wait)"] = LatencySummary.From(kafkaOnly.Total);
        report.LatencyCurves["Kafka hop only"] = Curve(kafkaOnly);
        List<Sample> inWindow;
        lock (report.Samples)
        {
            inWindow = [.. report.Samples.Where(x => x.Phase is "measure" or "baseline")];
        }

        if (inWindow.Count > 0 && gateway.HasMetrics)
        {
            report.Add("ingest channel depth in the window (median; capacity 16,384)", Median(inWindow.Select(x => x.ChannelDepth)), "ticks");
            report.Add("consumer lag in the window (median)", Median(inWindow.Select(x => x.ConsumerLag)), "ticks");
        }

        var p99 = LatencySummary.From(baseline.Total).P99;
        var p50 = LatencySummary.From(baseline.Total).P50;

        if (slowCount > 0)
        {
            await SlowPhaseAsync(s, report, fleet, sampler, gateway, slowCount, p99, log, ct).ConfigureAwait(false);
        }
        else if (s.Scenario == "soak")
        {
            SoakVerdict(report, rssKnown: gateway.Process is not null);
        }

        switch (s.Scenario)
        {
            case "fanout":
                report.Target("fanout latency p99 (throttle 100 ms)", "<= 120 ms", p99, "ms", p99 <= 120);
                break;
            case "latency":
                report.Target("latency p99 (throttle 0)", "<= 5 ms", p99, "ms", p99 <= 5);
                report.Target("latency p50 (throttle 0)", "<= 1 ms", p50, "ms", p50 <= 1);
                break;
        }

        report.Deliveries = fleet.Quotes;
        report.ClientErrors += fleet.Errors;
        report.ErrorSamples.AddRange(fleet.ErrorSamples);
        report.Closes = fleet.Closes.ToDictionary(k => k.Key, k => k.Value);
        await DisconnectsAsync(gateway, report, ct).ConfigureAwait(false);
        Unavailable(report, gateway);
        return new GatewayFigures(
            gateway.Label,
            Math.Round(window.Quotes / window.Seconds),
            Math.Round(window.Frames / window.Seconds),
            window.GatewayCpuPct is { } c ? Math.Round(c / 100, 3) : null,
            rssMeasured,
            p50,
            p99);
    }

    /// <summary>Says which figures a gateway could not give: CPU and RSS of one running elsewhere, and those from a /metrics it lacks.</summary>
    private static void Unavailable(RunReport report, GatewayUnderTest gateway)
    {
        if (gateway.Process is null)
        {
            report.Notes.Add("The gateway runs elsewhere (--target): its CPU, RSS and busiest threads are not measured, so the report has no gateway CPU or RSS figure and no RSS plot.");
        }

        if (!gateway.HasMetrics)
        {
            report.Notes.Add($"The gateway ({gateway.Label}) did not answer GET /metrics: the figures taken from it are not available for it (managed heap, allocation rate, GC, lock contention, ingest channel depth, consumer lag, disconnects by close code).");
        }
    }

    private static async Task SlowPhaseAsync(ScenarioSettings s, RunReport report, ClientFleet fleet, Sampler sampler, GatewayUnderTest gateway, int slowCount, double baselineP99, TextWriter log, CancellationToken ct)
    {
        var during = new LatencyRecorder();
        fleet.Others = during;
        var rssBefore = gateway.Usage()?.RssBytes;
        sampler.ResetPeak();
        sampler.Phase = "slow";
        log.WriteLine($"  {slowCount} clients stop reading for {s.SlowSeconds:0} s");
        fleet.PauseSlow();
        var window = await MeasureAsync(fleet, gateway, TimeSpan.FromSeconds(s.SlowSeconds), ct).ConfigureAwait(false);
        var rssAfter = gateway.Usage()?.RssBytes;
        await StopRecordingAsync(fleet).ConfigureAwait(false);
        fleet.ResumeSlow();
        sampler.Phase = "resumed";
        await Task.Delay(TimeSpan.FromSeconds(Math.Min(5, s.SlowSeconds)), ct).ConfigureAwait(false);

        var summary = LatencySummary.From(during.Total);
        report.Latency["others, with slow clients"] = summary;
        report.LatencyCurves["others, with slow clients"] = Curve(during);
        report.Add("slow clients (half conflate, half disconnect)", slowCount, "");
        report.Add("quotes delivered with slow clients", Math.Round(window.Quotes / window.Seconds), "quotes/s");
        report.Add("slow clients closed by the gateway", fleet.SlowCloses, "");
        var ratio = baselineP99 > 0 ? summary.P99 / baselineP99 : 0;
        report.Target("others' p99 with slow clients vs without", "within 10 %", Math.Round(100 * (ratio - 1), 1), "% change", ratio <= 1.10);
        if (window.GatewayCpuPct is { } cpu && rssBefore is { } before && rssAfter is { } after)
        {
            var peak = Math.Max(sampler.PeakRss, after);
            var growth = (peak - before) / 1048576.0;
            report.Add("gateway CPU with slow clients", Math.Round(cpu, 1), "% of one core");
            report.Notes.Add($"Busiest gateway threads with slow clients (% of one core): {window.GatewayThreads}.");
            report.Add("gateway RSS when slow clients stopped", Math.Round(before / 1048576.0, 1), "MB");
            report.Add("gateway RSS peak while they were stopped", Math.Round(peak / 1048576.0, 1), "MB");
            report.Target("gateway RSS growth while clients are stopped", "<= 32 MB", Math.Round(growth, 1), "MB", growth <= 32);
        }
    }

    /// <summary>soak: RSS (when known) and p99 of the first fifth of the measured window against the last fifth.</summary>
    private static void SoakVerdict(RunReport report, bool rssKnown)
    {
        List<Sample> measured;
        lock (report.Samples)
        {
            measured = [.. report.Samples.Where(x => x.Phase == "measure")];
        }

        if (measured.Count < 5)
        {
            return;
        }

        var fifth = Math.Max(1, measured.Count / 5);
        var head = measured.Take(fifth).ToList();
        var tail = measured.TakeLast(fifth).ToList();
        var p99Head = Median(head.Select(x => x.P99Ms));
        var p99Tail = Median(tail.Select(x => x.P99Ms));
        if (rssKnown)
        {
            var rssGrowth = tail.Average(x => x.GatewayRssMb) - head.Average(x => x.GatewayRssMb);
            report.Add("RSS, first fifth (mean)", Math.Round(head.Average(x => x.GatewayRssMb), 1), "MB");
            report.Add("RSS, last fifth (mean)", Math.Round(tail.Average(x => x.GatewayRssMb), 1), "MB");
            report.Target("soak: RSS flat (last fifth vs first)", "<= +32 MB", Math.Round(rssGrowth, 1), "MB", rssGrowth <= 32);
        }

        report.Add("interval p99, first fifth (median)", p99Head, "ms");
        report.Add("interval p99, last fifth (median)", p99Tail, "ms");
        report.Target("soak: latency flat (p99 last fifth vs first)", "<= +10 %", p99Head > 0 ? Math.Round(100 * ((p99Tail / p99Head) - 1), 1) : 0, "% change", p99Tail <= 1.10 * p99Head);
    }

    private static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToList();
        return v.Count == 0 ? 0 : v[v.Count / 2];
    }

    /// <summary>connections: many idle subscribed connections (their symbols never tick), then hold them.</summary>
    private static async Task ConnectionsAsync(ScenarioSettings s, RunReport report, string outDir, TextWriter log, CancellationToken ct)
    {
        await using var topology = new Topology(outDir, log);
        await topology.StartSimulatorAsync(s.TicksPerSecond, s.Universe(), s.Partitions, null, s.BootstrapServers, ct).ConfigureAwait(false);
        await using var gateway = await StartChosenAsync(s, topology, outDir, log, ct).ConfigureAwait(false);
        Describe(report, topology, gateway);
        await Task.Delay(TimeSpan.FromSeconds(s.Quick ? 0.5 : 3), ct).ConfigureAwait(false);
        var rssIdle = gateway.Usage()?.RssBytes;

        await using var fleet = new ClientFleet(gateway.Endpoints.WebSocket, s.SourceAddresses) { Deflate = s.Deflate, DeflatePerMessage = s.DeflatePerMessage };
        await using var sampler = new Sampler(gateway, topology.Simulator!, fleet, report, TimeSpan.FromSeconds(s.SampleSeconds));
        sampler.Phase = "ramp";
        log.WriteLine($"  ramp: {s.Clients:N0} idle subscribed connections over {s.RampSeconds:0} s{(s.Deflate ? ", offering permessage-deflate" : string.Empty)}");
        var connectRate = await fleet.ConnectAsync(
            s.Clients,
            i => [$"IDLE{i % 100:D2}"],
            _ => false,
            _ => $"?throttleMs=100&policy=conflate{s.DeltaQuery}",
            TimeSpan.FromSeconds(s.RampSeconds),
            s.ConnectConcurrency,
            1024,
            ct).ConfigureAwait(false);
        sampler.Phase = "settle";
        await Task.Delay(TimeSpan.FromSeconds(s.WarmupSeconds), ct).ConfigureAwait(false);
        sampler.Phase = "hold";
        var heartbeatsBefore = fleet.Heartbeats;
        var runtime0 = await gateway.ScrapeAsync(ct).ConfigureAwait(false);
        var window = await MeasureAsync(fleet, gateway, TimeSpan.FromSeconds(s.DurationSeconds), ct).ConfigureAwait(false);
        RuntimeFigures(report, runtime0, await gateway.ScrapeAsync(ct).ConfigureAwait(false), window.Seconds);
        var heartbeats = fleet.Heartbeats - heartbeatsBefore;
        var held = fleet.Sockets.Count(x => x.Subscribed && !x.Closed);
        var rssHeld = gateway.Usage()?.RssBytes;
        var hbRate = heartbeats / window.Seconds;

        report.Add("connections held (subscribed, open)", held, "");
        report.Add("connect rate", Math.Round(connectRate, 1), "connections/s");
        report.Add("heartbeats received", Math.Round(hbRate, 1), "heartbeats/s");
        report.Add("harness CPU (clients)", Math.Round(window.HarnessCpuPct, 1), "% of one core");
        report.Target("connections held", $">= {s.Clients:N0}", held, "", held >= s.Clients);
        if (rssIdle is { } idle && rssHeld is { } holding && window.GatewayCpuPct is { } cpu)
        {
            var perConnection = held > 0 ? (holding - idle) / 1024.0 / held : 0;
            report.Add("gateway RSS before connections", Math.Round(idle / 1048576.0, 1), "MB");
            report.Add("gateway RSS holding them", Math.Round(holding / 1048576.0, 1), "MB");
            report.Add("gateway RSS per connection", Math.Round(perConnection, 2), "KB");
            report.Add("gateway CPU while holding (heartbeats, pings)", Math.Round(cpu, 1), "% of one core");
            report.Notes.Add($"Busiest gateway threads while holding (from /proc/<pid>/task, % of one core): {window.GatewayThreads}.");
            report.Add("gateway CPU per heartbeat", hbRate > 0 ? Math.Round(cpu / 100 * 1e6 / hbRate, 1) : 0, "µs");
            report.Target("gateway RSS per connection", "<= 20 KB", Math.Round(perConnection, 2), "KB", perConnection <= 20);
        }

        report.Deliveries = fleet.Frames;
        report.ClientErrors += fleet.Errors + (s.Clients - held);
        report.ErrorSamples.AddRange(fleet.ErrorSamples);
        report.Closes = fleet.Closes.ToDictionary(k => k.Key, k => k.Value);
        await DisconnectsAsync(gateway, report, ct).ConfigureAwait(false);
        Unavailable(report, gateway);
    }

    private static async Task DisconnectsAsync(GatewayUnderTest gateway, RunReport report, CancellationToken ct)
    {
        var m = await gateway.ScrapeAsync(ct).ConfigureAwait(false);
        if (m is null)
        {
            return;
        }

        foreach (var (labels, value) in m.Series(MetricNames.Disconnects))
        {
            report.Add($"gateway disconnects {{{labels}}}", value, "");
        }
    }

    /// <summary>
    /// Ends a measured window: no new quote goes to its recorders, and the frames being read when it ended
    /// (microseconds of work each) finish before anything reads the histograms, which must not change under a reader.
    /// </summary>
    private static async Task StopRecordingAsync(ClientFleet fleet)
    {
        fleet.Others = null;
        fleet.SlowGroup = null;
        await Task.Delay(250).ConfigureAwait(false);
    }

    /// <summary>
    /// What dotnet-counters would show for the window, from the gateway's own runtime metrics (System.Runtime meter on
    /// /metrics): managed heap after the last GC against RSS, allocation rate, GC count and pause time, lock contention.
    /// </summary>
    private static void RuntimeFigures(RunReport report, GatewayMetrics? before, GatewayMetrics? after, double seconds)
    {
        if (before is null || after is null || !after.Has("dotnet_gc_last_collection_heap_size_bytes"))
        {
            return;
        }

        double Delta(string name, string? label = null) => after.Sum(name, label) - before.Sum(name, label);
        report.Add("gateway managed heap after the last GC", Math.Round(after.Sum("dotnet_gc_last_collection_heap_size_bytes") / 1048576.0, 1), "MB");
        report.Add("gateway GC committed memory", Math.Round(after.Sum("dotnet_gc_last_collection_memory_committed_size_bytes") / 1048576.0, 1), "MB");
        report.Add("gateway allocation rate", Math.Round(Delta("dotnet_gc_heap_total_allocated_bytes_total") / seconds / 1048576.0, 1), "MB/s");
        foreach (var gen in new[] { "gen0", "gen1", "gen2" })
        {
            report.Add($"gateway {gen} GCs in the window", Delta("dotnet_gc_collections_total", $"\"{gen}\""), "");
        }

        // Bytes per quote as the gateway counted them over the window: every message's payload (replies and heartbeats
        // included, a sliver next to updates), as written and as it went on the wire after permessage-deflate.
        var quotesSent = Delta("marketstream_gateway_quotes_sent_total");
        if (quotesSent > 0 && after.Has("marketstream_gateway_wire_bytes_sent_bytes_total"))
        {
            report.Add("payload bytes per quote sent", Math.Round(Delta("marketstream_gateway_bytes_sent_bytes_total") / quotesSent, 1), "B");
            report.Add("wire bytes per quote sent (after permessage-deflate)", Math.Round(Delta("marketstream_gateway_wire_bytes_sent_bytes_total") / quotesSent, 1), "B");
        }

        report.Add("gateway GC pause time", Math.Round(100 * Delta("dotnet_gc_pause_time_seconds_total") / seconds, 2), "% of the window");
        report.Add("gateway lock contentions", Math.Round(Delta("dotnet_monitor_lock_contentions_total") / seconds, 1), "per second");
    }

    private static List<CurvePoint> Curve(LatencyRecorder r) => [.. PercentileCurve.From(r.Total).Select(p => new CurvePoint(p.Percentile, p.Ms))];

    /// <summary>What one measured window delivered and cost; the gateway's CPU is null when it runs elsewhere.</summary>
    private sealed record Window(double Seconds, long Frames, long UpdateFrames, long Quotes, long Bytes, double? GatewayCpuPct, double HarnessCpuPct, string GatewayThreads);

    private static async Task<Window> MeasureAsync(ClientFleet fleet, GatewayUnderTest gateway, TimeSpan duration, CancellationToken ct)
    {
        var self = Process.GetCurrentProcess();
        var (f0, u0, q0, b0) = (fleet.Frames, fleet.UpdateFrames, fleet.Quotes, fleet.Bytes);
        var cpu0 = gateway.Usage()?.CpuSeconds;
        var self0 = self.TotalProcessorTime.TotalSeconds;
        var threads0 = gateway.Threads();
        var clock = Stopwatch.StartNew();
        await Task.Delay(duration, ct).ConfigureAwait(false);
        var seconds = clock.Elapsed.TotalSeconds;
        var cpu1 = gateway.Usage()?.CpuSeconds;
        self.Refresh();
        return new Window(
            seconds,
            fleet.Frames - f0,
            fleet.UpdateFrames - u0,
            fleet.Quotes - q0,
            fleet.Bytes - b0,
            cpu0 is { } a && cpu1 is { } b ? 100 * (b - a) / seconds : null,
            100 * (self.TotalProcessorTime.TotalSeconds - self0) / seconds,
            ProcStat.TopThreads(threads0, gateway.Threads(), seconds));
    }
}
