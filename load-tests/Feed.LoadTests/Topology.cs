using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace MarketStream.LoadTests;

/// <summary>
/// The processes of one run, each on 127.0.0.1 and each its own OS process so its CPU and memory are its own:
/// the simulator (embedded broker + producer) and the gateway. Disposing stops both, always.
/// </summary>
internal sealed class Topology : IAsyncDisposable
{
    private readonly string outDir;
    private readonly TextWriter log;
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(5) };

    public Topology(string outDir, TextWriter log)
    {
        this.outDir = outDir;
        this.log = log;
    }

    public ChildProcess? Simulator { get; private set; }

    public ChildProcess? Gateway { get; private set; }

    public string Bootstrap { get; private set; } = string.Empty;

    public Uri? GatewayUri { get; private set; }

    public const string Topic = "market.ticks";

    public async Task StartSimulatorAsync(int rate, IReadOnlyList<string> symbols, int partitions, long? maxTicks, CancellationToken ct)
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
        if (maxTicks is { } m)
        {
            args.AddRange(["--max-ticks", m.ToString(CultureInfo.InvariantCulture)]);
        }

        log.WriteLine($"  starting simulator: {rate:N0} ticks/s over {symbols.Count} symbols, {partitions} partitions");
        Simulator = ChildProcess.Start("simulator", Binaries.Simulator(), args, Path.Combine(outDir, "simulator.log"));
        var line = await Simulator.WaitForLineAsync(l => l.StartsWith("BOOTSTRAP=", StringComparison.Ordinal), TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
        Bootstrap = line["BOOTSTRAP=".Length..].Trim();
        log.WriteLine($"  simulator pid {Simulator.Pid}, broker at {Bootstrap}");
    }

    public async Task StartGatewayAsync(IEnumerable<string> settings, bool waitReady, TimeSpan readyTimeout, CancellationToken ct)
    {
        var port = FreePort();
        GatewayUri = new Uri($"http://127.0.0.1:{port}/");
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
        log.WriteLine($"  starting gateway on {GatewayUri}");
        Gateway = ChildProcess.Start("gateway", Binaries.Gateway(), args, Path.Combine(outDir, "gateway.log"));
        if (waitReady)
        {
            await WaitReadyAsync(readyTimeout, ct).ConfigureAwait(false);
            log.WriteLine($"  gateway pid {Gateway.Pid} ready");
        }
    }

    private async Task WaitReadyAsync(TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            ct.ThrowIfCancellationRequested();
            if (Gateway!.HasExited)
            {
                throw new InvalidOperationException($"the gateway exited before it was ready:\n{Gateway.Tail()}");
            }

            try
            {
                using var r = await http.GetAsync(new Uri(GatewayUri!, "healthz/ready"), ct).ConfigureAwait(false);
                if (r.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
            }

            await Task.Delay(100, ct).ConfigureAwait(false);
        }

        throw new TimeoutException($"the gateway was not ready within {timeout.TotalSeconds:0} s:\n{Gateway!.Tail()}");
    }

    public async Task<GatewayMetrics?> ScrapeAsync(CancellationToken ct)
    {
        try
        {
            var text = await http.GetStringAsync(new Uri(GatewayUri!, "metrics"), ct).ConfigureAwait(false);
            return GatewayMetrics.Parse(text);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return null;
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        // The gateway first (SIGTERM, then its drain is cut short by the kill), then the broker it reads.
        if (Gateway is not null)
        {
            await Gateway.StopAsync(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
            await Gateway.DisposeAsync().ConfigureAwait(false);
        }

        if (Simulator is not null)
        {
            await Simulator.StopAsync(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
            await Simulator.DisposeAsync().ConfigureAwait(false);
        }

        http.Dispose();
    }
}
