using System.Reflection;
using MarketStream.Gateway.Security;
using MarketStream.Gateway.Telemetry;
using MarketStream.Ingest;
using Microsoft.Extensions.Options;

namespace MarketStream.Gateway.Http;

/// <summary>
/// The operations dashboard: the page (<c>wwwroot/dashboard</c>) and its data, <c>GET /dashboard/data</c>, one JSON
/// object a second: the instruments <c>/metrics</c> exports (<see cref="DashboardSampler"/>) and a status line.
/// It is an operators' page, exposed exactly as <c>/metrics</c> is: on the management port when there is one
/// (<see cref="ManagementPort"/>), beside everything else otherwise.
/// </summary>
public static class Dashboard
{
    private static readonly DateTimeOffset StartedAt = DateTimeOffset.UtcNow;

    private static readonly string Version =
        typeof(Dashboard).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public static IServiceCollection AddDashboard(this IServiceCollection services)
    {
        services.AddSingleton<DashboardSampler>();
        return services;
    }

    /// <summary>
    /// The page lives at /dashboard/ (index.html beside its script and libraries, served as static files), so that
    /// its relative links work; /dashboard redirects there. A middleware, not an endpoint: a routed endpoint would
    /// also match /dashboard/ and keep static files from serving it.
    /// </summary>
    public static IApplicationBuilder UseDashboardRedirect(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            if (context.Request.Path.Value == "/dashboard")
            {
                context.Response.Redirect("/dashboard/" + context.Request.QueryString);
                return Task.CompletedTask;
            }

            return next(context);
        });

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/dashboard/data", (
            DashboardSampler sampler,
            IngestStatus ingest,
            KafkaConnection kafka,
            IOptions<KafkaOptions> kafkaOptions,
            IOptions<AuthOptions> auth,
            FeedFreshness freshness,
            TimeProvider time) =>
        {
            var now = time.GetUtcNow();
            return Results.Json(new
            {
                at = now.ToUnixTimeMilliseconds(),
                status = new
                {
                    warm = ingest.IsWarm,
                    feedStale = freshness.State.IsStale,
                    fatal = ingest.FatalError,
                    brokerReachable = ingest.LastBrokerContact is not null && ingest.UnreachableFor(now, TimeSpan.FromSeconds(kafkaOptions.Value.UnreachableGraceSeconds)) is null,
                    cluster = kafka.Embedded is null ? "kafka" : "embedded",
                    bootstrapServers = kafka.BootstrapServers,
                    topic = kafka.Topic,
                    auth = auth.Value.Enabled,
                    uptimeSeconds = (long)(now - StartedAt).TotalSeconds,
                    version = Version,
                    managedHeapBytes = GC.GetTotalMemory(forceFullCollection: false),
                    workingSetBytes = Environment.WorkingSet,
                },
                series = sampler.Snapshot(),
                latencyBounds = DashboardSampler.LatencyBounds,
            });
        });
        return endpoints;
    }
}
