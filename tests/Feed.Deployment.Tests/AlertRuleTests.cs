using MarketStream.Deployment.Tests.Infrastructure;

namespace MarketStream.Deployment.Tests;

/// <summary>
/// The PrometheusRule pages on metrics that exist: every <c>marketstream_*</c> series an alert reads is one a real
/// gateway exports on <c>/metrics</c> (an alert on a misspelt metric never fires, and nobody notices).
/// </summary>
[Collection(LiveMetrics.Collection)]
public sealed class AlertRuleTests
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

        var exported = await LiveMetrics.ExportedAsync();
        foreach (var alert in alerts)
        {
            var name = alert.At("alert").GetString()!;
            Assert.True(alert.At("annotations").TryGetProperty("runbook", out var runbook), $"{name}: no runbook");
            var anchor = runbook.GetString()!.Split('#')[1];
            Assert.Contains($"### {name}", await File.ReadAllTextAsync(Repo.PathOf("k8s/README.md")), StringComparison.Ordinal);
            Assert.Equal(name.ToLowerInvariant(), anchor);

            var metrics = LiveMetrics.MetricsIn(alert.At("expr").GetString()!);
            Assert.True(metrics.Count > 0, $"{name}: reads no metric");
            foreach (var metric in metrics)
            {
                Assert.True(
                    metric.StartsWith("marketstream_", StringComparison.Ordinal) ? exported.Contains(metric) : PlatformMetrics.Contains(metric),
                    $"{name} reads {metric}, which nothing exports (the gateway exports: {string.Join(", ", exported.Order())})");
            }
        }
    }

    /// <summary>The Grafana dashboard of the prod overlay: provisioned by a labelled ConfigMap, every query on a real metric.</summary>
    [Fact]
    public async Task Every_Grafana_query_reads_a_metric_the_gateway_really_exports()
    {
        var prod = await Manifests.RenderAsync("prod").WaitAsync(TimeSpan.FromMinutes(8));
        var map = prod.Named("ConfigMap", "marketstream-grafana-dashboard");
        Assert.Equal("1", map.At("metadata", "labels", "grafana_dashboard").GetString());
        using var dashboard = System.Text.Json.JsonDocument.Parse(map.At("data", "marketstream.json").GetString()!);
        var queries = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => (Panel: p.GetProperty("title").GetString()!, Expr: t.GetProperty("expr").GetString()!)))
            .ToList();
        Assert.True(queries.Count >= 12, $"{queries.Count} queries");

        var exported = await LiveMetrics.ExportedAsync();
        foreach (var (panel, expr) in queries)
        {
            var metrics = LiveMetrics.MetricsIn(expr);
            Assert.True(metrics.Count > 0, $"{panel}: {expr} reads no metric");
            Assert.All(metrics, m => Assert.True(exported.Contains(m), $"{panel} reads {m}, which the gateway does not export (it exports: {string.Join(", ", exported.Order())})"));
        }
    }
}
