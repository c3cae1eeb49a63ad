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
        using var log = new StringWriter();
        var settings = ScenarioSettings.Preset(scenario, quick: true);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(settings.TimeLimitSeconds));

        var report = await LoadHarness.RunScenarioAsync(settings, dir, log, cts.Token).WaitAsync(TimeSpan.FromSeconds(settings.TimeLimitSeconds + 30));
        output.WriteLine(log.ToString());

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
}
