using Confluent.Kafka;
using MarketStream.Ingest;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MarketStream.Ingest.Tests;

/// <summary>The settings every Kafka client of the gateway gets from <see cref="KafkaConnection.Configure{T}"/>.</summary>
public sealed class KafkaConnectionTests
{
    [Fact]
    public void Every_client_drops_a_silent_connection_after_10_s_and_retries_a_down_broker_at_least_once_a_second()
    {
        using var connection = Connection(new KafkaOptions { BootstrapServers = "broker-1:9092" });

        var config = connection.Configure(new ConsumerConfig());

        Assert.Equal("broker-1:9092", config.BootstrapServers);
        Assert.Equal(10_000, config.SocketTimeoutMs);
        Assert.Equal(1_000, config.ReconnectBackoffMaxMs);
    }

    [Fact]
    public void A_clients_own_setting_and_the_pass_through_properties_win_over_the_defaults()
    {
        var options = new KafkaOptions { BootstrapServers = "broker-1:9092" };
        options.Properties["reconnect.backoff.max.ms"] = "5000";
        using var connection = Connection(options);

        var config = connection.Configure(new ProducerConfig { SocketTimeoutMs = 30_000 });

        Assert.Equal(30_000, config.SocketTimeoutMs);
        Assert.Equal(5_000, config.ReconnectBackoffMaxMs);
    }

    private static KafkaConnection Connection(KafkaOptions options) => new(
        Options.Create(options), Options.Create(new EmbeddedBrokerOptions()), Options.Create(new SnapshotOptions()), NullLogger<KafkaConnection>.Instance);
}
