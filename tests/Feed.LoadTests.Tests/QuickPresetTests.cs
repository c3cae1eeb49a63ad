using System.Text.Json;
using MarketStream.LoadTests;
using Xunit.Abstractions;

namespace MarketStream.LoadTests.Tests;

/// <summary>
/// A smoke test of the harness, not of speed: each scenario's <c>--quick</c> preset starts a real simulator and
/// gateway, runs for seconds, and must leave a report with deliveries and no client errors. Targets are never
/// asserted here (a timed test on a shared CI machine would only measure the machine).
/// </summary>
public sealed class QuickPresetTests(ITestOutputHelper output)
{
    public static TheoryData<string> ScenarioNames => [.. ScenarioSettings.Names];

    [Theory]
    [MemberData(nameof(ScenarioNames))]
    public async Task Quick_preset_writes_a_report_with_deliveries_and_no_client_errors(string scenario)
    {
        var dir = Path.Combine(Path.GetTempPath(), "marketstream-loadtests", $"{scenario}-{Guid.NewGuid():N}");
        var settings = ScenarioSettings.Preset(scenario, quick: true);
        var report = await RunAsync(settings, dir);

        Assert.True(report.ClientErrors == 0, $"client errors: {string.Join("; ", report.ErrorSamples)}");
        Assert.True(report.Deliveries > 0, "nothing was delivered");
        Assert.True(File.Exists(Path.Combine(dir, "report.md")));
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "report.json")));
        Assert.Equal(scenario, json.RootElement.GetProperty("scenario").GetString());
        Assert.True(json.RootElement.GetProperty("deliveries").GetInt64() > 0);
        Assert.True(File.Exists(Path.Combine(dir, "rss-over-time.svg")), "no RSS plot");
        if (scenario is "fanout" or "latency" or "slow-consumers" or "soak")
        {
            Assert.True(File.Exists(Path.Combine(dir, "latency-percentiles.svg")), "no latency plot");
            Assert.True(report.Latency.Values.All(l => l.Count > 0), "a latency group recorded nothing");
        }

        Directory.Delete(dir, recursive: true);
    }

    /// <summary>
    /// The external-command path end to end, with MarketStream's own gateway as the "other" one, so no Node is
    /// needed: started through the shell with BOOTSTRAP and PORT, ready on /healthz/ready, measured over its tree.
    /// </summary>
    [Fact]
    public async Task Quick_fanout_measures_a_gateway_started_from_a_command()
    {
        var dll = Binaries.Gateway();
        var command = $"cd '{Path.GetDirectoryName(dll)}' && dotnet Feed.Gateway.dll --urls http://127.0.0.1:$PORT --Feed:Kafka:BootstrapServers=$BOOTSTRAP --Feed:Kafka:FetchWaitMaxMs=2 --Logging:LogLevel:Default=Warning";
        var dir = Path.Combine(Path.GetTempPath(), "marketstream-loadtests", $"command-{Guid.NewGuid():N}");
        var (settings, _) = LoadHarness.Parse(["fanout", "--quick", "--gateway-command", command]);
        var report = await RunAsync(settings, dir);

        Assert.True(report.ClientErrors == 0, $"client errors: {string.Join("; ", report.ErrorSamples)}");
        Assert.True(report.Deliveries > 0, "nothing was delivered");
        Assert.Contains(command, report.Gateway, StringComparison.Ordinal);
        Assert.True(report.Get("gateway CPU") > 0, "the command's CPU was not measured");
        Assert.True(report.Get("gateway RSS peak (measured window)") > 50, "the command's RSS was not measured (a .NET gateway holds more than 50 MB)");
        Assert.True(report.Figures.Exists(f => f.Name == "gateway managed heap after the last GC"), "its /metrics was not scraped");
        Assert.True(File.Exists(Path.Combine(dir, "gateway.log")));
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>
    /// Clients that offer permessage-deflate and ask for deltas: the gateway's own counters say what went on the
    /// wire, compressed, against the payload it wrote.
    /// </summary>
    [Fact]
    public async Task Quick_fanout_with_deflate_and_deltas_reports_wire_bytes_under_payload_bytes()
    {
        var dir = Path.Combine(Path.GetTempPath(), "marketstream-loadtests", $"deflate-{Guid.NewGuid():N}");
        var (settings, _) = LoadHarness.Parse(["fanout", "--quick", "--deflate", "on", "--delta", "on"]);
        var report = await RunAsync(settings, dir);

        Assert.True(report.ClientErrors == 0, $"client errors: {string.Join("; ", report.ErrorSamples)}");
        Assert.True(report.Deliveries > 0, "nothing was delivered");
        var payload = report.Get("payload bytes per quote sent");
        var wire = report.Get("wire bytes per quote sent (after permessage-deflate)");
        Assert.True(wire > 0 && wire < payload / 2, $"{wire} bytes per quote on the wire against {payload} written");
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>Runs the scenario within its time limit, and writes the harness's log whatever happened: a run that throws is explained by what it did before.</summary>
    private async Task<RunReport> RunAsync(ScenarioSettings settings, string dir)
    {
        using var log = new StringWriter();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(settings.TimeLimitSeconds));
        try
        {
            return await LoadHarness.RunScenarioAsync(settings, dir, log, cts.Token).WaitAsync(TimeSpan.FromSeconds(settings.TimeLimitSeconds + 30));
        }
        finally
        {
            output.WriteLine(log.ToString());
        }
    }
}
