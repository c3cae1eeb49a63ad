using System.Xml.Linq;
using MarketStream.LoadTests;

namespace MarketStream.LoadTests.Tests;

public sealed class HarnessPartsTests
{
    [Fact]
    public void Metrics_are_summed_by_name_and_label()
    {
        var m = GatewayMetrics.Parse("""
            # TYPE marketstream_gateway_disconnects_total counter
            marketstream_gateway_disconnects_total{code="4001",otel_scope_name="MarketStream.Gateway"} 7 1795356633535
            marketstream_gateway_disconnects_total{code="1000",otel_scope_name="MarketStream.Gateway"} 3 1795356633535
            marketstream_ingest_consumer_lag 1.5e3
            """);

        Assert.Equal(10, m.Sum("marketstream_gateway_disconnects_total"));
        Assert.Equal(7, m.Sum("marketstream_gateway_disconnects_total", "code=\"4001\""));
        Assert.Equal(1500, m.Sum("marketstream_ingest_consumer_lag"));
        Assert.False(m.Has("marketstream_ingest_channel_depth"));
    }

    [Fact]
    public void Cpu_time_is_read_past_a_command_name_with_spaces()
    {
        // Fields 14 and 15 (utime 250, stime 50 clock ticks) after a name holding spaces and a ')'.
        var stat = "4242 (dotnet (x) y) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 12 0 100 0 0";
        Assert.Equal(3.0, ProcStat.ParseStatCpuSeconds(stat), 3);
    }

    [Fact]
    public void Overrides_replace_the_preset_values()
    {
        var (settings, outDir) = LoadHarness.Parse(["fanout", "--quick", "--clients", "7", "--duration", "2.5", "--out", "/tmp/x"]);

        Assert.True(settings.Quick);
        Assert.Equal(7, settings.Clients);
        Assert.Equal(2.5, settings.DurationSeconds);
        Assert.Equal("/tmp/x", outDir);
        Assert.Throws<ArgumentException>(() => LoadHarness.Parse(["fanout", "--no-such-option", "1"]));
        Assert.Throws<ArgumentException>(() => LoadHarness.Parse(["no-such-scenario"]));
    }

    [Fact]
    public void Deflate_and_delta_are_off_unless_switched_on_and_take_only_on_or_off()
    {
        var (plain, _) = LoadHarness.Parse(["fanout", "--quick"]);
        Assert.False(plain.Deflate || plain.Delta);
        var (both, _) = LoadHarness.Parse(["fanout", "--quick", "--deflate", "on", "--delta", "true"]);
        Assert.True(both.Deflate && both.Delta);
        Assert.Contains("on or off", Assert.Throws<ArgumentException>(() => LoadHarness.Parse(["fanout", "--deflate", "yes"])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_scenario_has_a_full_and_a_quick_preset_bounded_in_time()
    {
        foreach (var name in ScenarioSettings.Names)
        {
            var full = ScenarioSettings.Preset(name, quick: false);
            var quick = ScenarioSettings.Preset(name, quick: true);
            Assert.True(quick.TimeLimitSeconds <= 60, $"{name} --quick may run {quick.TimeLimitSeconds} s");
            Assert.True(full.TimeLimitSeconds >= full.RampSeconds + full.WarmupSeconds + full.DurationSeconds + full.SlowSeconds, $"{name}: its time limit cuts the run short");
        }
    }

    [Fact]
    public void Watchlists_are_reproducible_and_hold_distinct_symbols()
    {
        var s = ScenarioSettings.Preset("fanout", quick: false);
        var universe = s.Universe();

        var a = s.WatchlistOf(17, universe);
        Assert.Equal(a, s.WatchlistOf(17, universe));
        Assert.Equal(50, a.Distinct().Count());
        Assert.NotEqual(a, s.WatchlistOf(18, universe));
    }

    [Fact]
    public void Percentile_plot_is_well_formed_svg_with_one_line_per_curve()
    {
        var h = LatencyRecorder.New();
        for (var i = 1; i <= 10_000; i++)
        {
            h.RecordValue(i * 10);
        }

        var curve = PercentileCurve.From(h).Select(p => new CurvePoint(p.Percentile, p.Ms)).ToList();
        Assert.True(curve.Zip(curve.Skip(1)).All(p => p.Second.Ms >= p.First.Ms), "a percentile curve never falls");

        var svg = XDocument.Parse(Svg.PercentilePlot("t", new Dictionary<string, List<CurvePoint>> { ["a"] = curve, ["b"] = curve }));
        Assert.Equal(2, svg.Descendants().Count(e => e.Name.LocalName == "polyline"));
    }

    [Theory]
    [InlineData(0.7, 1)]
    [InlineData(3, 5)]
    [InlineData(120, 200)]
    [InlineData(1000, 1000)]
    public void Plot_axes_end_on_a_round_number(double max, double expected) => Assert.Equal(expected, Svg.NiceCeiling(max));
}
