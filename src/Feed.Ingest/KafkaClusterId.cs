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
    private const int ErrorBufferSize = 512;

    /// <summary>The cluster's id, or null if the brokers did not answer within <paramref name="timeout"/> or report none.</summary>
    public static unsafe string? Read(ClientConfig config, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(config);
        LibrdkafkaNative.EnsureLoaded();
        var conf = LibrdkafkaNative.rd_kafka_conf_new();
        if (conf == 0)
        {
            throw new InvalidOperationException("rd_kafka_conf_new returned NULL.");
        }

        var errstr = stackalloc byte[ErrorBufferSize];
        try
        {
            // The .NET client's own settings (dotnet.*) mean nothing to librdkafka.
            foreach (var (key, value) in config.Where(p => !p.Key.StartsWith("dotnet.", StringComparison.Ordinal)))
            {
                Set(conf, key, value, errstr);
            }

            Set(conf, "log_level", "4", errstr);
        }
        catch
        {
            LibrdkafkaNative.rd_kafka_conf_destroy(conf);
            throw;
        }

        var handle = LibrdkafkaNative.rd_kafka_new(LibrdkafkaNative.ProducerType, conf, errstr, ErrorBufferSize);
        if (handle == 0)
        {
            LibrdkafkaNative.rd_kafka_conf_destroy(conf);
            throw new InvalidOperationException($"rd_kafka_new failed: {Marshal.PtrToStringUTF8((nint)errstr)}");
        }

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

    private static unsafe void Set(nint conf, string name, string value, byte* errstr)
    {
        errstr[0] = 0;
        if (LibrdkafkaNative.rd_kafka_conf_set(conf, name, value, errstr, ErrorBufferSize) != LibrdkafkaNative.ConfOk)
        {
            throw new InvalidOperationException($"rd_kafka_conf_set({name}) failed: {Marshal.PtrToStringUTF8((nint)errstr)}");
        }
    }
}
