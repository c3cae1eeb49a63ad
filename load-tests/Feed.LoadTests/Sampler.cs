using System.Diagnostics;
using HdrHistogram;

namespace MarketStream.LoadTests;

/// <summary>
/// Every <c>SampleSeconds</c>: the gateway's RSS and CPU (from /proc, over its process tree), the simulator's and the harness's CPU,
/// what the clients received, the interval's latency p99, and the ingest metrics from <c>/metrics</c>.
/// </summary>
internal sealed class Sampler : IAsyncDisposable
{
    private readonly GatewayUnderTest gateway;
    private readonly ChildProcess simulator;
    private readonly ClientFleet? fleet;
    private readonly RunReport report;
    private readonly TimeSpan interval;
    private readonly CancellationTokenSource stop = new();
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly Task loop;

    public Sampler(GatewayUnderTest gateway, ChildProcess simulator, ClientFleet? fleet, RunReport report, TimeSpan interval)
    {
        this.gateway = gateway;
        this.simulator = simulator;
        this.fleet = fleet;
        this.report = report;
        this.interval = interval;
        loop = Task.Run(RunAsync);
    }

    public volatile string Phase = "start";

    /// <summary>Largest gateway RSS seen since <see cref="ResetPeak"/>, in bytes.</summary>
    public long PeakRss => Interlocked.Read(ref peakRss);

    private long peakRss;

    public void ResetPeak() => Interlocked.Exchange(ref peakRss, 0);

    private async Task RunAsync()
    {
        var sim = simulator.Pid;
        var self = Process.GetCurrentProcess();
        double lastT = 0, lastGw = gateway.Usage()?.CpuSeconds ?? 0, lastSim = ProcStat.CpuSeconds(sim), lastSelf = self.TotalProcessorTime.TotalSeconds;
        long lastFrames = fleet?.Frames ?? 0, lastQuotes = fleet?.Quotes ?? 0;
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop.Token).ConfigureAwait(false))
            {
                var t = clock.Elapsed.TotalSeconds;
                var dt = t - lastT;
                // A gateway running elsewhere (--target) shows 0 here; the report says its CPU and RSS are unknown.
                var (gwCpu, rss) = gateway.Usage() ?? (0, 0);
                var simCpu = ProcStat.CpuSeconds(sim);
                self.Refresh();
                var selfCpu = self.TotalProcessorTime.TotalSeconds;
                long seen;
                do
                {
                    seen = Interlocked.Read(ref peakRss);
                }
                while (rss > seen && Interlocked.CompareExchange(ref peakRss, rss, seen) != seen);

                var frames = fleet?.Frames ?? 0;
                var quotes = fleet?.Quotes ?? 0;
                var recorder = fleet?.Others;
                var lat = recorder?.TakeInterval();
                double p99 = 0, max = 0;
                if (lat is not null)
                {
                    // Let the frames that were recording into it finish: a histogram must not change under a reader.
                    await Task.Delay(100, stop.Token).ConfigureAwait(false);
                    (p99, max) = lat.TotalCount > 0 ? (lat.GetValueAtPercentile(99) / 1000.0, lat.GetMaxValue() / 1000.0) : (0, 0);
                }

                var metrics = await gateway.ScrapeAsync(stop.Token).ConfigureAwait(false);
                lock (report.Samples)
                {
                    report.Samples.Add(new Sample(
                        Math.Round(t, 2),
                        Phase,
                        Math.Round(rss / 1048576.0, 1),
                        Math.Round(100 * (gwCpu - lastGw) / dt, 1),
                        Math.Round(100 * (simCpu - lastSim) / dt, 1),
                        Math.Round(100 * (selfCpu - lastSelf) / dt, 1),
                        Math.Round((frames - lastFrames) / dt, 1),
                        Math.Round((quotes - lastQuotes) / dt, 1),
                        p99,
                        max,
                        fleet?.Open ?? 0,
                        metrics?.Sum(MetricNames.TicksConsumed) ?? 0,
                        metrics?.Sum(MetricNames.ConsumerLag) ?? 0,
                        metrics?.Sum(MetricNames.ChannelDepth) ?? 0));
                }

                (lastT, lastGw, lastSim, lastSelf, lastFrames, lastQuotes) = (t, gwCpu, simCpu, selfCpu, frames, quotes);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync().ConfigureAwait(false);
        await loop.ConfigureAwait(false);
        stop.Dispose();
    }
}

internal static class MetricNames
{
    public const string TicksConsumed = "marketstream_ingest_ticks_consumed_total";
    public const string ConsumerLag = "marketstream_ingest_consumer_lag";
    public const string ChannelDepth = "marketstream_ingest_channel_depth";
    public const string Disconnects = "marketstream_gateway_disconnects_total";
    public const string Connections = "marketstream_gateway_connections";
}
