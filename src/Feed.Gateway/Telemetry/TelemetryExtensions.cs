using MarketStream.Gateway.Market;
using MarketStream.Gateway.Security;
using MarketStream.Gateway.Streaming;
using MarketStream.Ingest;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace MarketStream.Gateway.Telemetry;

/// <summary>
/// Metrics and traces through OpenTelemetry: every <c>marketstream.*</c> instrument, ASP.NET Core and runtime
/// metrics, Prometheus text at <c>GET /metrics</c>, and OTLP export (metrics and traces) when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
/// </summary>
public static class TelemetryExtensions
{
    public static IServiceCollection AddMarketStreamTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var otlp = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("marketstream-gateway"))
            .WithMetrics(metrics =>
            {
                // ASP.NET Core's own meters (request duration, Kestrel connections) rather than the OpenTelemetry
                // instrumentation package: it adds a middleware whose state every request keeps until it ends, and a
                // WebSocket request lasts as long as its connection.
                metrics.AddMeter(IngestStats.MeterName, GatewayStats.MeterName, MarketMetrics.MeterName)
                    .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Routing", "Microsoft.AspNetCore.Diagnostics")
                    .AddRuntimeInstrumentation()
                    .AddView("marketstream.gateway.tick_to_send_latency", LatencyBuckets())
                    .AddView("marketstream.gateway.send_duration", LatencyBuckets())
                    .AddPrometheusExporter();
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });

        // Traces only with somewhere to send them. Without an exporter, ASP.NET Core's request spans would be made
        // for nothing, and hosting keeps one Activity per request for its whole life: for a WebSocket, the
        // connection's (memory every idle connection would carry).
        if (otlp)
        {
            telemetry.WithTracing(tracing => tracing.AddSource(MarketTracing.SourceName)
                .AddAspNetCoreInstrumentation(o =>
                {
                    // A WebSocket or SSE request lasts as long as the connection: hours. Its span would be
                    // useless and every span of the session would hang under it, so streaming requests are left
                    // out; sessions trace on their own.
                    o.Filter = context => !IsStreaming(context.Request.Path);

                    // The instrumentation masks query values itself, unless an operator turns that off
                    // (OTEL_DOTNET_EXPERIMENTAL_ASPNETCORE_DISABLE_URL_QUERY_REDACTION): tokens stay masked anyway.
                    o.EnrichWithHttpRequest = (activity, _) =>
                    {
                        if (activity.GetTagItem("url.query") is string query && TokenRedaction.MayHoldToken(query))
                        {
                            activity.SetTag("url.query", TokenRedaction.Redact(query));
                        }
                    };
                })
                .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(0.01)))
                .AddOtlpExporter());
        }

        services.AddSingleton<MarketMetrics>();
        return services;
    }

    public static WebApplication MapMarketStreamMetrics(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPrometheusScrapingEndpoint("/metrics");

        // Create the gauges now, not on the first scrape.
        _ = app.Services.GetRequiredService<MarketMetrics>();
        _ = app.Services.GetRequiredService<IngestStats>();
        _ = app.Services.GetRequiredService<GatewayStats>();
        return app;
    }

    private static bool IsStreaming(PathString path) => path.StartsWithSegments("/ws") || path.StartsWithSegments("/sse");

    /// <summary>Seconds, from 100 µs to 10 s: the range where market-data latency lives.</summary>
    /// <summary>
    /// Upper bounds, in seconds, of the latency histograms' buckets: the Prometheus view's, and the dashboard's
    /// (<see cref="DashboardSampler"/>), so both read the same distribution.
    /// </summary>
    internal static readonly double[] LatencyBounds = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10];

    private static ExplicitBucketHistogramConfiguration LatencyBuckets() => new() { Boundaries = LatencyBounds };
}
