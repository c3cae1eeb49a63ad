using MarketStream.Ingest.Simulation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace MarketStream.Ingest;

public static class IngestServiceCollectionExtensions
{
    /// <summary>
    /// The Kafka side of a gateway: the connection (a real cluster, or the embedded broker), the ingest
    /// worker, the bounded tick channel, and the market simulator (on by default with the embedded broker).
    /// </summary>
    public static IServiceCollection AddMarketStreamIngest(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddKafkaConnection(configuration);
        services.AddOptions<IngestOptions>()
            .Bind(configuration.GetSection(IngestOptions.Section))
            .Validate(o => o.ChannelCapacity is >= 16 and <= 1_048_576, "Feed:Ingest:ChannelCapacity must be between 16 and 1048576.")
            .ValidateOnStart();

        services.TryAddSingleton<TickChannel>();
        services.TryAddSingleton<IngestStats>();
        services.TryAddSingleton<IngestStatus>();
        services.TryAddSingleton<StreamEpoch>();
        services.TryAddSingleton<FeedFreshness>();
        services.AddHostedService(sp => sp.GetRequiredService<FeedFreshness>());
        services.AddHostedService<KafkaIngestWorker>();
        services.AddHostedService<BrokerMonitor>();
        services.AddMarketSimulator(configuration);
        return services;
    }

    /// <summary>The market simulator alone, producing into the configured (or embedded) cluster.</summary>
    public static IServiceCollection AddMarketSimulator(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddKafkaConnection(configuration);
        services.AddOptions<SimulatorOptions>()
            .Bind(configuration.GetSection(SimulatorOptions.Section))
            .Validate(o => o.TicksPerSecond is >= 1 and <= 1_000_000, "Feed:Simulator:TicksPerSecond must be between 1 and 1000000.")
            .Validate(o => o.PartialTickRatio is >= 0 and <= 1, "Feed:Simulator:PartialTickRatio must be between 0 and 1.")
            .Validate(o => o.MaxTicks is null or > 0, "Feed:Simulator:MaxTicks must be positive when set.")
            .Validate(o => string.IsNullOrWhiteSpace(o.Symbols) || MarketSimulator.ParseSymbols(o.Symbols).Any(),
                "Feed:Simulator:Symbols must name at least one symbol when set.")
            .ValidateOnStart();
        services.TryAddSingleton<MarketSimulator>();
        services.AddHostedService(sp => sp.GetRequiredService<MarketSimulator>());
        return services;
    }

    private static void AddKafkaConnection(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(d => d.ServiceType == typeof(KafkaConnection)))
        {
            return;
        }

        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<KafkaOptions>()
            .Bind(configuration.GetSection(KafkaOptions.Section))
            .Validate(o => !string.IsNullOrWhiteSpace(o.Topic), "Feed:Kafka:Topic must not be empty.")
            .Validate(o => o.FetchWaitMaxMs is null or (>= 1 and <= 10_000), "Feed:Kafka:FetchWaitMaxMs must be between 1 and 10000.")
            .Validate(o => o.UnreachableGraceSeconds is >= 1 and <= 3600, "Feed:Kafka:UnreachableGraceSeconds must be between 1 and 3600.")
            .Validate(o => o.StaleAfterSeconds is >= 1 and <= 3600, "Feed:Kafka:StaleAfterSeconds must be between 1 and 3600.")
            .Validate(o => o.LookbackMessages is >= 0 and <= 10_000_000, "Feed:Kafka:LookbackMessages must be between 0 and 10000000.")
            .Validate(o => o.UseEmbeddedBroker || o.BootstrapServers!.Split(',').All(s => s.Trim().Contains(':', StringComparison.Ordinal)),
                "Feed:Kafka:BootstrapServers must be a comma-separated list of host:port.")
            .ValidateOnStart();
        services.AddOptions<SnapshotOptions>()
            .Bind(configuration.GetSection(SnapshotOptions.Section))
            .Validate(o => !string.IsNullOrWhiteSpace(o.Topic), "Feed:Snapshot:Topic must not be empty.")
            .Validate(o => o.IntervalMs is >= 100 and <= 3_600_000, "Feed:Snapshot:IntervalMs must be between 100 and 3600000.")
            .ValidateOnStart();
        services.AddOptions<EmbeddedBrokerOptions>()
            .Bind(configuration.GetSection(EmbeddedBrokerOptions.Section))
            .Validate(o => o.Brokers is >= 1 and <= 9, "Feed:Embedded:Brokers must be between 1 and 9.")
            .Validate(o => o.Partitions is >= 1 and <= 256, "Feed:Embedded:Partitions must be between 1 and 256.")
            .ValidateOnStart();
        services.AddSingleton<KafkaConnection>();
    }
}
