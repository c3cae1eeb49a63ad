using MarketStream.Gateway.Streaming;
using MarketStream.Ingest;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace MarketStream.Gateway.Http;

/// <summary>
/// <c>/healthz/live</c> says the process answers; <c>/healthz/ready</c> says it holds current state and
/// should get traffic: false until the ingest has caught up with Kafka (DESIGN.md decision 2) and after a
/// fatal ingest error, when the brokers have not answered for longer than
/// <c>Feed:Kafka:UnreachableGraceSeconds</c>, and from the moment shutdown begins.
/// </summary>
public static class Health
{
    private const string ReadyTag = "ready";

    public static IServiceCollection AddGatewayHealth(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<IngestReadinessCheck>("ingest", tags: [ReadyTag]);
        return services;
    }

    public static IEndpointRouteBuilder MapGatewayHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/healthz/live", new() { Predicate = _ => false });
        endpoints.MapHealthChecks("/healthz/ready", new() { Predicate = r => r.Tags.Contains(ReadyTag) });
        return endpoints;
    }

    private sealed class IngestReadinessCheck(
        IngestStatus status,
        SessionRegistry sessions,
        IOptions<KafkaOptions> kafka,
        TimeProvider time) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(status switch
            {
                _ when sessions.IsDraining => HealthCheckResult.Unhealthy("draining: shutting down"),
                _ when status.UnreachableFor(time.GetUtcNow(), TimeSpan.FromSeconds(kafka.Value.UnreachableGraceSeconds)) is { } silent =>
                    HealthCheckResult.Unhealthy($"Kafka unreachable for {silent.TotalSeconds:F0} s"),
                { FatalError: { } error } => HealthCheckResult.Unhealthy($"ingest stopped: {error}"),
                { IsWarm: false } => HealthCheckResult.Unhealthy("warming up from Kafka"),
                _ => HealthCheckResult.Healthy(),
            });
    }
}
