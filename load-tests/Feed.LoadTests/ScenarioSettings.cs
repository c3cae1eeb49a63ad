using System.Globalization;

namespace MarketStream.LoadTests;

/// <summary>
/// What one scenario run does: its load (clients, symbols, tick rate), its load simulation (ramp, warm-up,
/// measured duration) and its bounds. Every run is bounded: <see cref="TimeLimitSeconds"/> cancels it whatever happens.
/// </summary>
internal sealed record ScenarioSettings
{
    public required string Scenario { get; init; }

    public bool Quick { get; init; }

    public int Clients { get; init; }

    /// <summary>Size of the symbol universe the simulator ticks.</summary>
    public int Symbols { get; init; } = 500;

    public int SymbolsPerClient { get; init; }

    public int TicksPerSecond { get; init; }

    public int ThrottleMs { get; init; } = 100;

    public string Policy { get; init; } = "conflate";

    public int Partitions { get; init; } = 6;

    /// <summary>Load simulation, phase 1: clients connect evenly over this time.</summary>
    public double RampSeconds { get; init; }

    /// <summary>Load simulation, phase 2: load runs but nothing is recorded.</summary>
    public double WarmupSeconds { get; init; }

    /// <summary>Load simulation, phase 3: the measured window (for slow-consumers: the baseline phase).</summary>
    public double DurationSeconds { get; init; }

    /// <summary>slow-consumers: share of clients that stop reading, and for how long.</summary>
    public double SlowFraction { get; init; }

    public double SlowSeconds { get; init; }

    /// <summary>ingest: ticks put on the broker before the gateway starts, then read as fast as it can.</summary>
    public long IngestTicks { get; init; }

    public int HeartbeatMs { get; init; } = 5_000;

    public int ConnectConcurrency { get; init; } = 64;

    public int SourceAddresses { get; init; } = 1;

    public double SampleSeconds { get; init; } = 1;

    public double TimeLimitSeconds { get; init; } = 240;

    /// <summary>Streaming scenarios: the clients offer permessage-deflate (as browsers do), so the gateway compresses.</summary>
    public bool Deflate { get; init; }

    /// <summary>With <see cref="Deflate"/>: the clients also ask for <c>server_no_context_takeover</c>, so every message is compressed alone.</summary>
    public bool DeflatePerMessage { get; init; }

    /// <summary>Streaming scenarios: the clients ask for changed-fields-only quotes (<c>delta=true</c>).</summary>
    public bool Delta { get; init; }

    /// <summary>What <see cref="Delta"/> adds to a client's query string (after its other parameters).</summary>
    public string DeltaQuery => Delta ? "&delta=true" : string.Empty;

    /// <summary>rolling: gateway replicas behind nginx.</summary>
    public int Replicas { get; init; } = 3;

    /// <summary>rolling: each replica's drain window on SIGTERM (<c>Feed:Gateway:DrainSeconds</c>).</summary>
    public int DrainSeconds { get; init; } = 10;

    /// <summary>Brokers of the embedded cluster (rolling: three, as a production cluster has).</summary>
    public int Brokers { get; init; } = 1;

    /// <summary>rolling: how long every broker stops answering.</summary>
    public double OutageSeconds { get; init; } = 10;

    /// <summary>Starts this command (any protocol-v1 gateway) in place of MarketStream's gateway; null: MarketStream's.</summary>
    public string? GatewayCommand { get; init; }

    /// <summary>Runs the clients against the gateway at this URL, already running; the harness starts none. Needs <see cref="BootstrapServers"/>.</summary>
    public string? Target { get; init; }

    /// <summary>An existing Kafka cluster to produce into, instead of the embedded broker.</summary>
    public string? BootstrapServers { get; init; }

    /// <summary>Measures MarketStream's gateway, then the gateway this command starts, on the same load, and compares them.</summary>
    public string? Compare { get; init; }

    /// <summary>Scenarios whose figures are quotes delivered to clients: the ones <see cref="Compare"/> applies to.</summary>
    public static readonly string[] Streaming = ["fanout", "latency", "slow-consumers", "soak"];

    public static readonly string[] Names = ["ingest", "fanout", "latency", "slow-consumers", "connections", "soak", "rolling"];

    /// <remarks>
    /// <c>connections</c> holds 19,000, not the 20,000 of the target, by default: the machine the figures come from
    /// has a hard open-file limit of 20,000 per process that even root cannot raise there, and the gateway needs a
    /// few hundred files besides its sockets. On a host with a higher limit, run it with <c>--clients 20000</c>.
    /// </remarks>
    public static ScenarioSettings Preset(string scenario, bool quick) => (scenario, quick) switch
    {
        ("ingest", false) => new() { Scenario = scenario, IngestTicks = 1_500_000, Partitions = 64, Symbols = 500, TicksPerSecond = 1_000_000, TimeLimitSeconds = 180 },
        ("ingest", true) => new() { Scenario = scenario, Quick = true, IngestTicks = 50_000, Partitions = 6, Symbols = 100, TicksPerSecond = 200_000, TimeLimitSeconds = 60 },

        ("fanout", false) => new() { Scenario = scenario, Clients = 1_000, SymbolsPerClient = 50, Symbols = 500, TicksPerSecond = 20_000, ThrottleMs = 100, RampSeconds = 10, WarmupSeconds = 10, DurationSeconds = 60, TimeLimitSeconds = 180 },
        ("fanout", true) => new() { Scenario = scenario, Quick = true, Clients = 50, SymbolsPerClient = 10, Symbols = 100, TicksPerSecond = 2_000, ThrottleMs = 100, RampSeconds = 1, WarmupSeconds = 1, DurationSeconds = 4, TimeLimitSeconds = 60 },

        ("latency", false) => new() { Scenario = scenario, Clients = 200, SymbolsPerClient = 20, Symbols = 500, TicksPerSecond = 5_000, ThrottleMs = 0, RampSeconds = 5, WarmupSeconds = 10, DurationSeconds = 60, TimeLimitSeconds = 180 },
        ("latency", true) => new() { Scenario = scenario, Quick = true, Clients = 20, SymbolsPerClient = 10, Symbols = 100, TicksPerSecond = 1_000, ThrottleMs = 0, RampSeconds = 1, WarmupSeconds = 1, DurationSeconds = 4, TimeLimitSeconds = 60 },

        ("slow-consumers", false) => new() { Scenario = scenario, Clients = 1_000, SymbolsPerClient = 50, Symbols = 500, TicksPerSecond = 20_000, ThrottleMs = 100, RampSeconds = 10, WarmupSeconds = 10, DurationSeconds = 45, SlowFraction = 0.1, SlowSeconds = 60, TimeLimitSeconds = 240 },
        ("slow-consumers", true) => new() { Scenario = scenario, Quick = true, Clients = 50, SymbolsPerClient = 10, Symbols = 100, TicksPerSecond = 2_000, ThrottleMs = 100, RampSeconds = 1, WarmupSeconds = 1, DurationSeconds = 3, SlowFraction = 0.1, SlowSeconds = 4, TimeLimitSeconds = 60 },

        ("connections", false) => new() { Scenario = scenario, Clients = 19_000, SymbolsPerClient = 1, Symbols = 500, TicksPerSecond = 100, RampSeconds = 40, WarmupSeconds = 10, DurationSeconds = 30, ConnectConcurrency = 256, SourceAddresses = 4, TimeLimitSeconds = 240 },
        ("connections", true) => new() { Scenario = scenario, Quick = true, Clients = 500, SymbolsPerClient = 1, Symbols = 100, TicksPerSecond = 100, RampSeconds = 2, WarmupSeconds = 1, DurationSeconds = 3, HeartbeatMs = 1_000, SourceAddresses = 2, TimeLimitSeconds = 60 },

        ("soak", false) => new() { Scenario = scenario, Clients = 1_000, SymbolsPerClient = 50, Symbols = 500, TicksPerSecond = 20_000, ThrottleMs = 100, RampSeconds = 10, WarmupSeconds = 10, DurationSeconds = 600, SampleSeconds = 5, TimeLimitSeconds = 720 },
        ("soak", true) => new() { Scenario = scenario, Quick = true, Clients = 50, SymbolsPerClient = 10, Symbols = 100, TicksPerSecond = 2_000, ThrottleMs = 100, RampSeconds = 1, WarmupSeconds = 1, DurationSeconds = 6, TimeLimitSeconds = 60 },

        // rolling: the warm-up is the steady phase, the duration the settling time after each event. Heartbeats every
        // second, so a connection that stopped getting them would be dropped as stale within the outage.
        ("rolling", false) => new() { Scenario = scenario, Clients = 1_000, SymbolsPerClient = 20, Symbols = 500, TicksPerSecond = 2_000, ThrottleMs = 100, RampSeconds = 10, WarmupSeconds = 10, DurationSeconds = 10, HeartbeatMs = 1_000, SourceAddresses = 100, Replicas = 3, DrainSeconds = 10, OutageSeconds = 10, TimeLimitSeconds = 420 },
        ("rolling", true) => new() { Scenario = scenario, Quick = true, Clients = 60, SymbolsPerClient = 5, Symbols = 100, TicksPerSecond = 500, ThrottleMs = 100, RampSeconds = 1, WarmupSeconds = 2, DurationSeconds = 2, HeartbeatMs = 1_000, SourceAddresses = 6, Replicas = 3, DrainSeconds = 1, OutageSeconds = 3, TimeLimitSeconds = 60 },

        _ => throw new ArgumentException($"unknown scenario '{scenario}'; one of: {string.Join(", ", Names)}"),
    };

    private static bool Switch(string key, string value) => value switch
    {
        "on" or "true" => true,
        "off" or "false" => false,
        _ => throw new ArgumentException($"--{key} takes on or off, not '{value}'"),
    };

    /// <summary>Applies <c>--name value</c> overrides from the command line.</summary>
    public ScenarioSettings With(IReadOnlyDictionary<string, string> o)
    {
        var s = this;
        foreach (var (key, value) in o)
        {
            double D() => double.Parse(value, CultureInfo.InvariantCulture);
            int I() => int.Parse(value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
            s = key switch
            {
                "clients" => s with { Clients = I() },
                "symbols" => s with { Symbols = I() },
                "per-client" => s with { SymbolsPerClient = I() },
                "rate" => s with { TicksPerSecond = I() },
                "throttle" => s with { ThrottleMs = I() },
                "policy" => s with { Policy = value },
                "partitions" => s with { Partitions = I() },
                "ramp" => s with { RampSeconds = D() },
                "warmup" => s with { WarmupSeconds = D() },
                "duration" => s with { DurationSeconds = D() },
                "slow-fraction" => s with { SlowFraction = D() },
                "slow-seconds" => s with { SlowSeconds = D() },
                "ticks" => s with { IngestTicks = long.Parse(value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture) },
                "heartbeat" => s with { HeartbeatMs = I() },
                "sources" => s with { SourceAddresses = I() },
                "sample" => s with { SampleSeconds = D() },
                "time-limit" => s with { TimeLimitSeconds = D() },
                "gateway-command" => s with { GatewayCommand = value },
                "target" => s with { Target = value },
                "bootstrap-servers" => s with { BootstrapServers = value },
                "compare" => s with { Compare = value },
                "replicas" => s with { Replicas = I() },
                "brokers" => s with { Brokers = I() },
                "drain" => s with { DrainSeconds = I() },
                "outage" => s with { OutageSeconds = D() },
                "deflate" when value == "per-message" => s with { Deflate = true, DeflatePerMessage = true },
                "deflate" => s with { Deflate = Switch(key, value), DeflatePerMessage = false },
                "delta" => s with { Delta = Switch(key, value) },
                _ => throw new ArgumentException($"unknown option --{key}"),
            };
        }

        // Two gateways measured one after the other take about twice as long; an explicit limit is the user's.
        if (s.Compare is not null && !o.ContainsKey("time-limit"))
        {
            s = s with { TimeLimitSeconds = 2 * s.TimeLimitSeconds };
        }

        s.Validate();
        return s;
    }

    /// <summary>Refuses, with the reason, the combinations of gateway and broker options that cannot be run.</summary>
    private void Validate()
    {
        if (Scenario == "rolling" && (GatewayCommand ?? Target ?? BootstrapServers ?? Compare) is not null)
        {
            throw new ArgumentException("rolling starts, stops and kills its own replicas and takes its own embedded broker away: --gateway-command, --target, --bootstrap-servers and --compare do not apply");
        }

        if (Scenario == "rolling" && (Replicas is < 2 or > 9 || Brokers is < 1 or > 5 || DrainSeconds is < 0 or > 600 || OutageSeconds is < 1 or > 300 || SourceAddresses is < 1 or > 60_000))
        {
            throw new ArgumentException("rolling: --replicas 2 to 9, --brokers 1 to 5, --drain 0 to 600 s, --outage 1 to 300 s, --sources 1 to 60000");
        }

        if (GatewayCommand is not null && string.IsNullOrWhiteSpace(GatewayCommand) || Compare is not null && string.IsNullOrWhiteSpace(Compare))
        {
            throw new ArgumentException("--gateway-command and --compare need a command");
        }

        if (Target is not null)
        {
            _ = GatewayEndpoints.FromTarget(Target);
            if (BootstrapServers is null)
            {
                throw new ArgumentException("--target needs --bootstrap-servers: the harness produces the ticks its clients time into the cluster that gateway reads");
            }

            if (GatewayCommand is not null || Compare is not null)
            {
                throw new ArgumentException("--target measures a gateway already running; --gateway-command and --compare start one: give one or the other");
            }
        }

        if (GatewayCommand is not null && Compare is not null)
        {
            throw new ArgumentException("--compare measures MarketStream's gateway against the command's; --gateway-command replaces MarketStream's: give one or the other");
        }

        if (Scenario == "ingest" && (GatewayCommand ?? Target ?? BootstrapServers ?? Compare) is not null)
        {
            throw new ArgumentException("ingest counts the backlog it puts on the embedded broker and reads MarketStream's own ingest metrics: --gateway-command, --target, --bootstrap-servers and --compare are for the client scenarios");
        }

        if (Compare is not null && !Streaming.Contains(Scenario))
        {
            throw new ArgumentException($"--compare compares quotes delivered: it is for {string.Join(", ", Streaming)}");
        }
    }

    /// <summary>The universe: S0001 … Snnnn, stable across runs.</summary>
    public IReadOnlyList<string> Universe() => [.. Enumerable.Range(1, Symbols).Select(i => $"S{i:D4}")];

    /// <summary>Client <paramref name="index"/>'s watchlist: a seeded random draw, so every run gives each client the same one.</summary>
    public IReadOnlyList<string> WatchlistOf(int index, IReadOnlyList<string> universe)
    {
        var random = new Random(1_000 + index);
        var picked = new HashSet<int>();
        var n = Math.Min(SymbolsPerClient, universe.Count);
        while (picked.Count < n)
        {
            picked.Add(random.Next(universe.Count));
        }

        return [.. picked.Select(i => universe[i])];
    }
}
