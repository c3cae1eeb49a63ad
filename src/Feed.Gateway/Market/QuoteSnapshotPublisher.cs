using System.Collections.Concurrent;
using Confluent.Kafka;
using MarketStream.Ingest;
using Microsoft.Extensions.Options;

namespace MarketStream.Gateway.Market;

/// <summary>
/// Writes the compacted quotes topic (<see cref="SnapshotOptions"/>): every interval, each symbol whose quote
/// changed since it was last written, whole, with the <c>seq</c> it reflects. Only once this gateway is warm, so
/// it never writes a quote it has only half rebuilt. On by default with the embedded broker; in a deployment one
/// small publisher runs it (k8s/). What every starting gateway reads first: <see cref="KafkaIngestWorker"/>.
/// </summary>
public sealed partial class QuoteSnapshotPublisher(
    KafkaConnection connection,
    IOptions<SnapshotOptions> options,
    MarketState state,
    IngestStatus status,
    TimeProvider time,
    ILogger<QuoteSnapshotPublisher> logger) : BackgroundService
{
    private readonly SnapshotOptions settings = options.Value;
    private readonly ConcurrentDictionary<string, long> written = new(StringComparer.Ordinal);
    private readonly LogThrottle failureLog = new(time, TimeSpan.FromSeconds(30));
    private long delivered;

    /// <summary>Whether this process publishes: configured, or by default only with the embedded broker.</summary>
    public bool IsEnabled => settings.Publish ?? connection.Embedded is not null;

    /// <summary>Quotes the broker has acknowledged so far.</summary>
    public long Delivered => Interlocked.Read(ref delivered);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!IsEnabled)
        {
            return;
        }

        using var producer = new ProducerBuilder<string, byte[]>(connection.Configure(new ProducerConfig
        {
            ClientId = "marketstream-snapshot",
            LingerMs = 20,
            Acks = Acks.All,
            EnableIdempotence = false,
        })).SetLogHandler((_, _) => { }).SetErrorHandler((_, e) => Failed(e.Reason)).Build();
        LogStarted(logger, connection.SnapshotTopic, settings.IntervalMs);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(settings.IntervalMs), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (status.IsWarm)
                {
                    WriteChanged(producer);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown: what is written is flushed below.
        }
        finally
        {
            producer.Flush(TimeSpan.FromSeconds(2));
        }
    }

    private void WriteChanged(IProducer<string, byte[]> producer)
    {
        foreach (var symbol in state.Symbols())
        {
            if (!state.TryGet(symbol, out var quote) || (written.TryGetValue(symbol, out var seq) && seq == quote.Seq))
            {
                continue;
            }

            // Marked written before the produce: a delivery report may come on librdkafka's thread before Produce
            // returns, and a failed one must be able to clear the mark.
            var seqWritten = quote.Seq;
            written[symbol] = seqWritten;
            try
            {
                producer.Produce(connection.SnapshotTopic, QuoteSnapshot.ToMessage(quote.ToTick(), seqWritten), report =>
                {
                    if (report.Error.IsError)
                    {
                        // Written again at the next interval.
                        written.TryRemove(new KeyValuePair<string, long>(symbol, seqWritten));
                        Failed(report.Error.Reason);
                    }
                    else
                    {
                        Interlocked.Increment(ref delivered);
                    }
                });
            }
            catch (ProduceException<string, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                written.TryRemove(new KeyValuePair<string, long>(symbol, seqWritten));
                // The broker is slow or away: the rest waits for the next interval.
                Failed(ex.Error.Reason);
                return;
            }
        }
    }

    private void Failed(string reason)
    {
        if (failureLog.ShouldLog(out var suppressed))
        {
            LogFailed(logger, connection.SnapshotTopic, reason, suppressed);
        }
    }

    [LoggerMessage(EventId = 410, Level = LogLevel.Information, Message = "Publishing every symbol's last quote to the quotes topic {Topic}, at most once per {IntervalMs} ms each and only on change")]
    private static partial void LogStarted(ILogger logger, string topic, int intervalMs);

    [LoggerMessage(EventId = 411, Level = LogLevel.Warning, Message = "Writing the quotes topic {Topic} failed: {Reason} ({Suppressed} similar not logged); retried at the next interval")]
    private static partial void LogFailed(ILogger logger, string topic, string reason, long suppressed);
}
