using System.Runtime.InteropServices;
using Confluent.Kafka;
using MarketStream.Ingest.Embedded;

namespace MarketStream.Ingest;

/// <summary>
/// Reads a cluster's id (from its metadata) with a short-lived native client made from the same settings as the
/// consumer's, so it reaches the cluster the same way (TLS, SASL). Confluent.Kafka exposes the id only through
/// DescribeCluster, which needs a controller the embedded broker does not report; librdkafka's own call needs
/// none.
/// </summary>
internal static class KafkaClusterId
{
    /// <summary>The cluster's id, or null if the brokers did not answer within <paramref name="timeout"/> or report none.</summary>
    public static string? Read(ClientConfig config, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(config);

        // The .NET client's own settings (dotnet.*) mean nothing to librdkafka.
        var handle = LibrdkafkaNative.NewProducer(config.Where(p => !p.Key.StartsWith("dotnet.", StringComparison.Ordinal)).Append(new("log_level", "4")));
        try
        {
            var id = LibrdkafkaNative.rd_kafka_clusterid(handle, (int)timeout.TotalMilliseconds);
            if (id == 0)
            {
                return null;
            }

            try
            {
                return Marshal.PtrToStringUTF8(id);
            }
            finally
            {
                LibrdkafkaNative.rd_kafka_mem_free(handle, id);
            }
        }
        finally
        {
            LibrdkafkaNative.rd_kafka_destroy(handle);
        }
    }
}
