using System.Diagnostics;
using MarketStream.Contracts;
using MarketStream.Gateway.Telemetry;
using MarketStream.Ingest;

namespace MarketStream.Gateway.Market;

/// <summary>
/// The single writer of the <see cref="MarketState"/>: drains the ingest channel, merges each tick, and
/// tells the observers (the fan-out). Being the only writer is what makes <c>seq</c> order and the merge
/// race-free without locks.
/// </summary>
public sealed partial class MarketStateWriter(
    TickChannel channel,
    MarketState state,
    IngestStats stats,
    IEnumerable<IMarketStateObserver> observers,
    ILogger<MarketStateWriter> logger) : BackgroundService
{
    private readonly IMarketStateObserver[] observers = observers.ToArray();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reader = channel.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                while (reader.TryRead(out var envelope))
                {
                    Apply(envelope);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown.
        }
    }

    private void Apply(in TickEnvelope envelope)
    {
        // Only a tick that carries its producer's trace context is traced, as a child of that context, so
        // the producer's sampling decision holds; HasListeners keeps the untraced path free of any cost.
        using var activity = envelope.ProducerContext != default && MarketTracing.Source.HasListeners()
            ? MarketTracing.Source.StartActivity("marketstream.tick.merge", ActivityKind.Consumer, envelope.ProducerContext)
            : null;
        activity?.SetTag("messaging.system", "kafka");
        activity?.SetTag("messaging.kafka.partition", envelope.Partition);
        activity?.SetTag("messaging.kafka.offset", envelope.Offset);
        activity?.SetTag("marketstream.symbol", envelope.Tick.Symbol);

        var quote = state.Apply(envelope);
        if (quote is null)
        {
            stats.RecordRejected(TickRejectReason.OutOfOrder);
            LogOutOfOrder(logger, envelope.Tick.Symbol, envelope.Partition, envelope.Offset);
            return;
        }

        foreach (var observer in observers)
        {
            try
            {
                observer.OnQuoteChanged(quote);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // One faulty observer must not stop the market state for everyone.
                LogObserverFailed(logger, ex, observer.GetType().Name);
            }
        }
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Debug, Message = "Skipped a tick of {Symbol} at partition {Partition} offset {Offset}: not after the symbol's current seq (symbol written to more than one partition)")]
    private static partial void LogOutOfOrder(ILogger logger, string symbol, int partition, long offset);

    [LoggerMessage(EventId = 401, Level = LogLevel.Error, Message = "Market state observer {Observer} failed")]
    private static partial void LogObserverFailed(ILogger logger, Exception exception, string observer);
}
