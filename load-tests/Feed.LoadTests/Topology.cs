using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace MarketStream.LoadTests;

/// <summary>
/// The processes of one run, each on 127.0.0.1 and each its own OS process so its CPU and memory are its own:
/// the simulator (embedded broker + producer, or the producer alone into an existing cluster) and the gateways.
/// Disposing stops the simulator, always; each gateway is stopped by disposing it, so that a run can measure
/// two, one after the other, on the same broker.
/// </summary>
internal sealed class Topology : IAsyncDisposable
{
    private readonly string outDir;
    private readonly TextWriter log;

    public Topology(string outDir, TextWriter log)
    {
        this.outDir = outDir;
        this.log = log;
    }

    public ChildProcess? Simulator { get; private set; }

    public string Bootstrap { get; private set; } = string.Empty;

    /// <summary>The broker as the report names it.</summary>
    public string Broker { get; private set; } = string.Empty;

    public const string Topic = "market.ticks";

    /// <summary>
    /// Starts the producer: into the embedded broker it hosts, or, given <paramref name="cluster"/>, into that
    /// existing cluster (the simulator's own <c>--bootstrap-servers</c>; the topic must exist there).
    /// </summary>
    /// <param name="brokers">Brokers of the embedded cluster (each serves its partitions on a thread of its own).</param>
    /// <param name="settings">More settings for the simulator, in their <c>--Section:Key=value</c> form.</param>
    public async Task StartSimulatorAsync(int rate, IReadOnlyList<string> symbols, int partitions, long? maxTicks, string? cluster, CancellationToken ct, int brokers = 1, IEnumerable<string>? settings = null)
    {
        List<string> args =
        [
            "--rate", rate.ToString(CultureInfo.InvariantCulture),
            "--symbols", string.Join(',', symbols),
            "--partitions", partitions.ToString(CultureInfo.InvariantCulture),
            "--seed", "42",
            "--exit-on-stdin-close",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:MarketStream=Information",
        ];
        args.AddRange(settings ?? []);
        if (cluster is null && brokers > 1)
        {
            args.AddRange(["--brokers", brokers.ToString(CultureInfo.InvariantCulture)]);
        }

        if (maxTicks is { } m)
        {
            args.AddRange(["--max-ticks", m.ToString(CultureInfo.InvariantCulture)]);
        }

        if (cluster is not null)
        {
            args.AddRange(["--bootstrap-servers", cluster]);
        }

        log.WriteLine($"  starting simulator: {rate:N0} ticks/s over {symbols.Count} symbols, {(cluster is null ? $"{partitions} partitions" : $"into the cluster at {cluster}")}");
        Simulator = ChildProcess.Start("simulator", Binaries.Simulator(), args, Path.Combine(outDir, "simulator.log"));
        var line = await Simulator.WaitForLineAsync(l => l.StartsWith("BOOTSTRAP=", StringComparison.Ordinal), TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
        Bootstrap = line["BOOTSTRAP=".Length..].Trim();
        Broker = cluster is null
            ? $"the embedded in-memory {(brokers > 1 ? $"cluster of {brokers} brokers" : "broker")} in the simulator's process ({partitions} partitions)"
            : $"the existing cluster at {cluster} (topic {Topic}), which the simulator produces into";
        log.WriteLine($"  simulator pid {Simulator.Pid}, broker at {Bootstrap}");
    }

    /// <summary>
    /// Takes the embedded broker away (every broker of the cluster stops answering, as in a network partition) or
    /// brings it back, through the simulator's stdin; returns once the simulator has confirmed.
    /// </summary>
    public async Task SetBrokersAsync(bool up, CancellationToken ct)
    {
        var simulator = Simulator ?? throw new InvalidOperationException("no simulator started");
        var state = up ? "up" : "down";
        var confirmed = simulator.WaitForLineAsync(l => l.Trim() == $"BROKERS={state}", TimeSpan.FromSeconds(10), ct);
        await simulator.SendLineAsync($"brokers {state}").ConfigureAwait(false);
        _ = await confirmed.ConfigureAwait(false);
    }

    /// <summary>Starts MarketStream's gateway (<c>dotnet Feed.Gateway.dll</c>), its log in <paramref name="logDir"/>.</summary>
    /// <param name="port">The port to listen on (a replica restarted where it was), or 0 for any free one.</param>
    /// <param name="name">The gateway's name in the log and its log file's (<c>&lt;name&gt;.log</c>).</param>
    public async Task<GatewayUnderTest> StartMarketStreamAsync(IEnumerable<string> settings, string logDir, bool waitReady, TimeSpan readyTimeout, CancellationToken ct, int port = 0, string name = "gateway")
    {
        port = port == 0 ? FreePort() : port;
        List<string> args =
        [
            "--urls", $"http://127.0.0.1:{port}",
            $"--Feed:Kafka:BootstrapServers={Bootstrap}",
            // The in-memory broker answers a fetch only when fetch.wait.max.ms runs out, never early when data
            // arrives (a real broker does); 2 ms is what the gateway itself uses on the embedded broker.
            "--Feed:Kafka:FetchWaitMaxMs=2",
            "--Logging:LogLevel:Default=Warning",
        ];
        args.AddRange(settings);
        var endpoints = GatewayEndpoints.Local(port);
        log.WriteLine($"  starting MarketStream's {name} on {endpoints.Http}");
        var process = ChildProcess.Start(name, Binaries.Gateway(), args, Path.Combine(logDir, name + ".log"), append: true);
        var gateway = new GatewayUnderTest("MarketStream", "MarketStream's gateway (`Feed.Gateway.dll`, built with the harness)", endpoints, process, scrapes: true);
        if (waitReady)
        {
            await ReadyOrStoppedAsync(gateway, readyTimeout, ct).ConfigureAwait(false);
        }

        return gateway;
    }

    /// <summary>
    /// Starts any protocol-v1 gateway from <paramref name="command"/> (through <c>/bin/sh -c</c>), telling it the
    /// broker and its port in <c>BOOTSTRAP</c> and <c>PORT</c>, and waits until <c>/healthz/ready</c> answers 200.
    /// </summary>
    public async Task<GatewayUnderTest> StartCommandAsync(string label, string command, string logDir, TimeSpan readyTimeout, CancellationToken ct)
    {
        var port = FreePort();
        var endpoints = GatewayEndpoints.Local(port);
        log.WriteLine($"  starting {label} gateway on {endpoints.Http}: {command}");
        var process = ChildProcess.StartShell("gateway", command, Path.Combine(logDir, "gateway.log"), new Dictionary<string, string>
        {
            ["BOOTSTRAP"] = Bootstrap,
            ["PORT"] = port.ToString(CultureInfo.InvariantCulture),
        });
        var gateway = new GatewayUnderTest(label, $"`{command}` (started by the harness through `/bin/sh -c` with BOOTSTRAP and PORT; CPU and RSS summed over its whole process tree)", endpoints, process, scrapes: null);
        await ReadyOrStoppedAsync(gateway, readyTimeout, ct).ConfigureAwait(false);
        _ = await gateway.ScrapeAsync(ct).ConfigureAwait(false);
        return gateway;
    }

    /// <summary>A gateway already running elsewhere (<c>--target</c>): nothing is started, and its CPU and RSS stay unknown.</summary>
    public static async Task<GatewayUnderTest> AttachAsync(string target, TextWriter log, CancellationToken ct)
    {
        var endpoints = GatewayEndpoints.FromTarget(target);
        log.WriteLine($"  measuring the gateway at {endpoints.WebSocket} (not started here)");
        var gateway = new GatewayUnderTest("--target", $"the gateway at {endpoints.WebSocket}, not started by the harness: its CPU and RSS are not measured", endpoints, process: null, scrapes: null);
        _ = await gateway.ScrapeAsync(ct).ConfigureAwait(false);
        return gateway;
    }

    private async Task ReadyOrStoppedAsync(GatewayUnderTest gateway, TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            await gateway.WaitReadyAsync(timeout, ct).ConfigureAwait(false);
            log.WriteLine($"  {gateway.Process!.Name} pid {gateway.Process.Pid} ready");
        }
        catch
        {
            // The caller never gets it, so it cannot stop it: stop the tree here, on a failed start or Ctrl+C alike.
            await gateway.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    internal static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (Simulator is not null)
        {
            await Simulator.StopAsync(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
            await Simulator.DisposeAsync().ConfigureAwait(false);
        }
    }
}
