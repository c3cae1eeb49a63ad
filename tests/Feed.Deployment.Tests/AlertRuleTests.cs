using System.Text.RegularExpressions;
using MarketStream.Deployment.Tests.Infrastructure;

namespace MarketStream.Deployment.Tests;

/// <summary>
/// The PrometheusRule pages on metrics that exist: every <c>marketstream_*</c> series an alert reads is one a real
/// gateway exports on <c>/metrics</c> (an alert on a misspelt metric never fires, and nobody notices).
/// </summary>
public sealed partial class AlertRuleTests
{
    /// <summary>Metrics of kube-state-metrics and cAdvisor the rules may read (kube-prometheus-stack installs both).</summary>
    private static readonly string[] PlatformMetrics =
    [
        "kube_deployment_status_replicas_available", "kube_horizontalpodautoscaler_spec_min_replicas",
        "kube_pod_container_status_restarts_total", "kube_pod_container_status_last_terminated_reason",
        "container_cpu_cfs_throttled_periods_total", "container_cpu_cfs_periods_total",
    ];

    public static TheoryData<string> Overlays => [.. Manifests.Overlays];

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Every_alert_reads_a_metric_the_gateway_or_the_platform_really_exports(string overlay)
    {
        var rendered = await Manifests.RenderAsync(overlay).WaitAsync(TimeSpan.FromMinutes(8));
        var rule = rendered.Single("PrometheusRule");
        Assert.Equal("kube-prometheus-stack", rule.At("metadata", "labels", "release").GetString());
        Assert.Equal("kube-prometheus-stack", rendered.Single("ServiceMonitor").At("metadata", "labels", "release").GetString());
        var alerts = rule.At("spec", "groups").EnumerateArray().SelectMany(g => g.At("rules").EnumerateArray()).ToList();
        Assert.True(alerts.Count >= 10, $"{overlay}: {alerts.Count} alerts");

        var exported = await ExportedMetricsAsync();
        foreach (var alert in alerts)
        {
            var name = alert.At("alert").GetString()!;
            Assert.True(alert.At("annotations").TryGetProperty("runbook", out var runbook), $"{name}: no runbook");
            var anchor = runbook.GetString()!.Split('#')[1];
            Assert.Contains($"### {name}", await File.ReadAllTextAsync(Repo.PathOf("k8s/README.md")), StringComparison.Ordinal);
            Assert.Equal(name.ToLowerInvariant(), anchor);

            var metrics = Identifier().Matches(alert.At("expr").GetString()!).Select(m => m.Value)
                .Where(m => m.StartsWith("marketstream_", StringComparison.Ordinal) || m.StartsWith("kube_", StringComparison.Ordinal) || m.StartsWith("container_", StringComparison.Ordinal))
                .ToList();
            Assert.True(metrics.Count > 0, $"{name}: reads no metric");
            foreach (var metric in metrics)
            {
                Assert.True(
                    metric.StartsWith("marketstream_", StringComparison.Ordinal) ? exported.Contains(metric) : PlatformMetrics.Contains(metric),
                    $"{name} reads {metric}, which nothing exports (the gateway exports: {string.Join(", ", exported.Order())})");
            }
        }
    }

    /// <summary>
    /// The series names of a real gateway's /metrics once it has done what every alerted metric counts: consumed
    /// ticks, held a connection that received updates, and seen it close.
    /// </summary>
    private static async Task<HashSet<string>> ExportedMetricsAsync()
    {
        await using var gateway = await GatewayHost.StartAsync();
        await gateway.WaitReadyAsync();
        await using (var client = await ProtocolClient.ConnectAsync(gateway.Address, "throttleMs=0"))
        {
            await client.SendAsync("""{"op":"subscribe","id":1,"symbols":["AAPL","MSFT"]}""");
            await client.ReceiveUntilAsync("updates");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        await Eventually.Holds(async () =>
        {
            var text = await gateway.Http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            names = [.. text.Split('\n').Where(l => l.StartsWith("marketstream_", StringComparison.Ordinal)).Select(l => l.Split('{', ' ')[0])];
            return names.Contains("marketstream_gateway_disconnects_total");
        }, "the closed connection counted in /metrics");
        return names;
    }

    [GeneratedRegex("[a-zA-Z_:][a-zA-Z0-9_:]*")]
    private static partial Regex Identifier();
}
