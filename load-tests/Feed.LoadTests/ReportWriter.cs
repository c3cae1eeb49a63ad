using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MarketStream.LoadTests;

/// <summary>Writes a run's <c>report.md</c>, <c>report.json</c> and its plots into the run's folder.</summary>
internal static class ReportWriter
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static void Write(RunReport r, string dir)
    {
        List<Sample> samples;
        lock (r.Samples)
        {
            samples = [.. r.Samples];
        }

        var plots = new List<string>();
        var phases = samples.Where((x, i) => i == 0 || samples[i - 1].Phase != x.Phase).Select(x => (x.T, x.Phase)).ToList();
        if (r.LatencyCurves.Count > 0 && r.LatencyCurves.Values.Any(c => c.Count > 0))
        {
            File.WriteAllText(Path.Combine(dir, "latency-percentiles.svg"), Svg.PercentilePlot($"{r.Scenario}: latency by percentile (receive time - quote ts)", r.LatencyCurves));
            plots.Add("latency-percentiles.svg");
        }

        // All zero: the gateway runs elsewhere (--target) and its RSS is unknown, not flat.
        if (samples.Count > 1 && samples.Any(x => x.GatewayRssMb > 0))
        {
            File.WriteAllText(Path.Combine(dir, "rss-over-time.svg"), Svg.TimeSeries($"{r.Scenario}: gateway RSS over time", "RSS (MB)",
                new Dictionary<string, List<(double, double)>> { ["gateway RSS (MB)"] = [.. samples.Select(x => (x.T, x.GatewayRssMb))] }, phases));
            plots.Add("rss-over-time.svg");
        }

        if (samples.Count > 1)
        {
            if (samples.Any(x => x.P99Ms > 0))
            {
                File.WriteAllText(Path.Combine(dir, "p99-over-time.svg"), Svg.TimeSeries($"{r.Scenario}: latency p99 per {r.Settings.SampleSeconds:0.#} s interval", "ms",
                    new Dictionary<string, List<(double, double)>> { ["p99 (ms)"] = [.. samples.Where(x => x.P99Ms > 0).Select(x => (x.T, x.P99Ms))] }, phases));
                plots.Add("p99-over-time.svg");
            }

            if (r.Scenario == "ingest")
            {
                File.WriteAllText(Path.Combine(dir, "ingest-over-time.svg"), Svg.TimeSeries("ingest: backlog drain", "ticks",
                    new Dictionary<string, List<(double, double)>>
                    {
                        ["ticks consumed"] = [.. samples.Select(x => (x.T, x.TicksConsumed))],
                        ["consumer lag"] = [.. samples.Select(x => (x.T, x.ConsumerLag))],
                    }));
                plots.Add("ingest-over-time.svg");
            }
        }

        plots.AddRange(r.ExtraPlots);
        File.WriteAllText(Path.Combine(dir, "report.json"), JsonSerializer.Serialize(r, Json));
        File.WriteAllText(Path.Combine(dir, "report.md"), Markdown(r, plots));
    }

    public static string Markdown(RunReport r, IReadOnlyList<string> plots)
    {
        var sb = new StringBuilder();
        var s = r.Settings;
        sb.AppendLine(CultureInfo.InvariantCulture, $"# {r.Scenario}{(r.Quick ? " (quick preset: a smoke test, not a measurement)" : string.Empty)}");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{r.StartedUtc:yyyy-MM-dd HH:mm} UTC, {r.WallSeconds:0} s wall, {r.Configuration} build. Machine: {r.Machine.Cpu}, {r.Machine.Cores} cores, {r.Machine.MemoryGiB} GiB, {r.Machine.Os}, {r.Machine.Runtime}.");
        sb.AppendLine(CultureInfo.InvariantCulture, $"Gateway: {Or(r.Gateway, "none started")}. Broker: {Or(r.Broker, "none started")}. The producer (simulator), the gateway and the clients each run in their own process; those on this machine share its cores. Load average (1/5/15 min) at the start: {r.LoadAverageAtStart}; at the end: {r.LoadAverageAtEnd}.");
        if (r.Configuration != "Release")
        {
            sb.AppendLine();
            sb.AppendLine("**Not a Release build: the figures are not representative.** Run with `dotnet run -c Release`.");
        }

        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Load: {Describe(s)}");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Result: {(r.Ok ? "completed" : "FAILED")}, {r.Deliveries:N0} deliveries, {r.ClientErrors} client errors.");
        foreach (var e in r.ErrorSamples.Take(10))
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"- {e}");
        }

        if (r.Comparison is { } comparison)
        {
            sb.AppendLine();
            sb.Append(comparison.Markdown($"{Scenarios.VersusFolder}/report.md"));
            sb.AppendLine();
            sb.AppendLine("The rest of this report is MarketStream's pass.");
        }

        if (r.Targets.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("## Targets");
            sb.AppendLine();
            sb.AppendLine("| target | goal | measured | |");
            sb.AppendLine("| --- | --- | --- | --- |");
            foreach (var t in r.Targets)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {t.Name} | {t.Goal} | {Num(t.Measured)} {t.Unit} | {(t.Met ? "met" : "**missed**")} |");
            }
        }

        sb.AppendLine();
        sb.AppendLine("## Figures");
        sb.AppendLine();
        sb.AppendLine("| figure | value |");
        sb.AppendLine("| --- | --- |");
        foreach (var f in r.Figures)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {f.Name} | {Num(f.Value)} {f.Unit} |");
        }

        if (r.Latency.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("## Latency (receive time minus the quote's `ts`, ms; warm-up excluded)");
            sb.AppendLine();
            sb.AppendLine(r.Phases.Count > 0 ? "| phase | quotes | p50 | p90 | p99 | p99.9 | max | mean |" : "| clients | quotes | p50 | p90 | p99 | p99.9 | max | mean |");
            sb.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
            foreach (var (name, l) in r.Latency)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {l.Count:N0} | {l.P50:0.###} | {l.P90:0.###} | {l.P99:0.###} | {l.P999:0.###} | {l.Max:0.###} | {l.Mean:0.###} |");
            }
        }

        if (r.Phases.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("## Phases (what the clients lived through)");
            sb.AppendLine();
            sb.AppendLine("| phase | longest gap per client p50 / p99 / max (ms) | reconnects (most in 1 s; spread) | recovery p50 / p99 / max (ms) | seq regressions | duplicates | errors | clients lost | closes seen |");
            sb.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
            foreach (var p in r.Phases)
            {
                var recovery = p.RecoveryP99Ms is { } p99 ? $"{Num(p.RecoveryP50Ms ?? 0)} / {Num(p99)} / {Num(p.RecoveryMaxMs ?? 0)} ({p.RecoveryClients} clients)" : "-";
                var closes = p.Disconnects.Count > 0
                    ? $"{string.Join(", ", p.Disconnects.Select(d => $"{d.Key}: {d.Value}"))} (p99: last update to close {Num(p.SilenceBeforeCloseP99Ms)} ms, close to next update {Num(p.BackAfterCloseP99Ms)} ms)"
                    : "none";
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {p.Name} | {Num(p.GapP50Ms)} / {Num(p.GapP99Ms)} / {Num(p.GapMaxMs)} | {p.Reconnects} ({p.MostReconnectsInOneSecond}; {p.ReconnectSpreadSeconds:0.#} s) | {recovery} | {p.SeqRegressions} | {p.Duplicates} | {p.Errors} | {p.ClientsLost} | {closes} |");
            }

            sb.AppendLine();
            foreach (var p in r.Phases)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"- **{p.Name}**: {p.Description}.{(p.RecoveryMeasures is null ? string.Empty : $" Recovery: {p.RecoveryMeasures}.")}");
            }
        }

        if (r.Closes.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"Connections closed during the run, by close code as the clients saw it: {string.Join(", ", r.Closes.Select(c => $"{c.Key}: {c.Value}"))}.");
        }

        if (plots.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("## Plots");
            sb.AppendLine();
            foreach (var p in plots)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"![{p}]({p})");
            }
        }

        if (r.Notes.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("## Notes");
            sb.AppendLine();
            foreach (var n in r.Notes)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"- {n}");
            }
        }

        sb.AppendLine();
        sb.AppendLine("Raw figures, every sample and the latency curves are in `report.json`; the processes' output in `simulator.log` and, unless the gateway runs elsewhere, `gateway.log`.");
        return sb.ToString();
    }

    internal static string Describe(ScenarioSettings s) => s.Scenario switch
    {
        "ingest" => $"{s.IngestTicks:N0} ticks over {s.Symbols} symbols and {s.Partitions} partitions put on the broker first, then read by the gateway (look-back covering all of them), no clients.",
        "rolling" => $"{s.Clients:N0} clients (Feed.Client) x {s.SymbolsPerClient} of {s.Symbols} symbols through nginx to {s.Replicas} gateway replicas, {s.TicksPerSecond:N0} ticks/s into {s.Brokers} broker(s), throttleMs {s.ThrottleMs}, policy {s.Policy}, heartbeat every {s.HeartbeatMs} ms, from {s.SourceAddresses} loopback source address(es); ramp {s.RampSeconds:0} s, "
            + $"then phases: steady {s.WarmupSeconds:0} s, rolling restart (drain {s.DrainSeconds} s per replica), SIGKILL of one replica, broker outage {s.OutageSeconds:0} s; {s.DurationSeconds:0} s to settle after each.",
        "connections" => $"{s.Clients:N0} WebSocket connections, each subscribed to one symbol that never ticks, ramped over {s.RampSeconds:0} s from {s.SourceAddresses} loopback source address(es), settled {s.WarmupSeconds:0} s, held {s.DurationSeconds:0} s; heartbeat every {s.HeartbeatMs} ms.",
        _ => $"{s.Clients:N0} clients x {s.SymbolsPerClient} of {s.Symbols} symbols, {s.TicksPerSecond:N0} ticks/s, throttleMs {s.ThrottleMs}, policy {s.Policy}{Compression(s)}; ramp {s.RampSeconds:0} s, warm-up {s.WarmupSeconds:0} s (not recorded), measured {s.DurationSeconds:0} s"
            + (s.SlowFraction > 0 ? $", then {s.SlowFraction:P0} of the clients stop reading for {s.SlowSeconds:0} s." : "."),
    };

    private static string Or(string value, string fallback) => value.Length > 0 ? value : fallback;

    internal static string Num(double v) => Math.Abs(v) >= 1000 ? v.ToString("N0", CultureInfo.InvariantCulture) : v.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Compression(ScenarioSettings s) =>
        (s.Deflate ? s.DeflatePerMessage ? ", permessage-deflate offered with server_no_context_takeover" : ", permessage-deflate offered" : string.Empty)
        + (s.Delta ? ", delta=true" : string.Empty);
}
