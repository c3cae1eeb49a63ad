using System.Runtime.InteropServices;
using System.Text.Json.Serialization;

namespace MarketStream.LoadTests;

/// <summary>Everything one run measured: what the Markdown and JSON reports and the plots are made of.</summary>
internal sealed class RunReport
{
    public required string Scenario { get; init; }

    public required bool Quick { get; init; }

    public required ScenarioSettings Settings { get; init; }

    public DateTimeOffset StartedUtc { get; init; } = DateTimeOffset.UtcNow;

    public double WallSeconds { get; set; }

    public string Configuration { get; init; } = Binaries.Configuration;

    public MachineInfo Machine { get; init; } = MachineInfo.Current();

    /// <summary>The machine's load average (1, 5, 15 min) when the run began and ended: other work on the box shows here.</summary>
    public string LoadAverageAtStart { get; init; } = LoadAverage();

    public string LoadAverageAtEnd { get; set; } = string.Empty;

    /// <summary>The gateway measured, and how (a <c>--compare</c> run: the first one; the other is in <see cref="Comparison"/>).</summary>
    public string Gateway { get; set; } = string.Empty;

    public string Broker { get; set; } = string.Empty;

    /// <summary>A <c>--compare</c> run: both gateways' figures and their ratios.</summary>
    public Comparison? Comparison { get; set; }

    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    /// <summary>Quotes delivered to clients (heartbeats for <c>connections</c>, ticks for <c>ingest</c>): the smoke test wants it above zero.</summary>
    public long Deliveries { get; set; }

    public long ClientErrors { get; set; }

    public List<string> ErrorSamples { get; } = [];

    public Dictionary<string, int> Closes { get; set; } = [];

    public List<Figure> Figures { get; } = [];

    public Dictionary<string, LatencySummary> Latency { get; } = [];

    public List<TargetResult> Targets { get; } = [];

    public List<Sample> Samples { get; } = [];

    public Dictionary<string, List<CurvePoint>> LatencyCurves { get; } = [];

    public List<string> Notes { get; } = [];

    /// <summary>rolling: each phase's figures, the must-be-zero counts under fixed names (seqRegressions, duplicates, clientsLost).</summary>
    public List<PhaseResult> Phases { get; } = [];

    /// <summary>Plots a scenario wrote itself, beside the common ones.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public List<string> ExtraPlots { get; } = [];

    public void Add(string name, double value, string unit) => Figures.Add(new Figure(name, value, unit));

    public double Get(string name) => Figures.First(f => f.Name == name).Value;

    public void Target(string name, string goal, double measured, string unit, bool met) =>
        Targets.Add(new TargetResult(name, goal, measured, unit, met));

    [JsonIgnore]
    public bool Ok => ClientErrors == 0 && Deliveries > 0;
}

internal sealed record Figure(string Name, double Value, string Unit);

internal sealed record TargetResult(string Name, string Goal, double Measured, string Unit, bool Met);

internal sealed record CurvePoint(double Percentile, double Ms);

/// <summary>One sampling interval: the time series behind the RSS and latency-over-time plots.</summary>
internal sealed record Sample(
    double T,
    string Phase,
    double GatewayRssMb,
    double GatewayCpuPct,
    double SimulatorCpuPct,
    double HarnessCpuPct,
    double FramesPerSec,
    double QuotesPerSec,
    double P99Ms,
    double MaxMs,
    int OpenClients,
    double TicksConsumed,
    double ConsumerLag,
    double ChannelDepth);

internal sealed record MachineInfo(string Cpu, int Cores, double MemoryGiB, string Os, string Runtime, string Kernel)
{
    public static MachineInfo Current()
    {
        string cpu = "unknown";
        double mem = 0;
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
            var kb = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            mem = Math.Round(ProcStat.ParseStatusKb(kb) / 1024.0 / 1024.0, 1);
        }
        catch (IOException)
        {
        }

        var kernel = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : RuntimeInformation.OSDescription;
        return new MachineInfo(cpu, Environment.ProcessorCount, mem, RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription, kernel);
    }
}
