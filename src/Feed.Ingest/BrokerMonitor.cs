using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MarketStream.Ingest;

/// <summary>
/// Asks the brokers for the tick topic's metadata every few seconds and records each answer in
/// <see cref="IngestStatus.LastBrokerContact"/>. A quiet market sends no records, so the consumer alone
/// cannot tell "nothing to read" from "brokers gone"; this can, and readiness uses it.
/// </summary>
public sealed partial class BrokerMonitor(
    KafkaConnection connection,
    IngestStatus status,
    TimeProvider time,
    ILogger<BrokerMonitor> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(2);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => Run(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken ct)
    {
        // Its own client: the consumer's thread is busy consuming, and metadata calls block.
        var config = connection.Configure(new AdminClientConfig { ClientId = "marketstream-gateway-monitor" });

        // Asking for a missing topic's metadata must not make a broker with auto-creation on create it
        // (the client's default for this kind of handle would ask it to).
        config.Set("allow.auto.create.topics", "false");
        using var admin = new AdminClientBuilder(config)
            .SetLogHandler((_, _) => { })
            .SetErrorHandler((_, _) => { })
            .Build();
        var reachable = true;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                admin.GetMetadata(connection.Topic, RequestTimeout);
                status.MarkBrokerContact(time.GetUtcNow());
                if (!reachable)
                {
                    LogReachable(logger);
                }

                reachable = true;
            }
            catch (KafkaException ex)
            {
                if (reachable)
                {
                    LogUnreachable(logger, ex.Message);
                }

                reachable = false;
            }

            ct.WaitHandle.WaitOne(Interval);
        }
    }

    [LoggerMessage(EventId = 250, Level = LogLevel.Error, Message = "Kafka brokers not answering: {Reason}")]
    private static partial void LogUnreachable(ILogger logger, string reason);

    [LoggerMessage(EventId = 251, Level = LogLevel.Information, Message = "Kafka brokers answering again")]
    private static partial void LogReachable(ILogger logger);
}
