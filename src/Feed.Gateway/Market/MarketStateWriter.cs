using System.Diagnostics;
using MarketStream.Contracts;
using MarketStream.Gateway.Streaming;
using MarketStream.Gateway.Telemetry;
using MarketStream.Ingest;

namespace MarketStream.Gateway.Market;

/// <summary>
/// The single writer of the <see cref="MarketState"/>: drains the ingest channel, merges each tick, and offers
/// the new quote to the fan-out. Being the only writer is what makes <c>seq</c> order and the merge race-free
/// without locks. It is the one serial stage of the gateway, so it runs on a thread of its own rather than as
/// a loop on the thread pool, where it would queue behind the connections' send loops.
/// </summary>
public sealed partial class MarketStateWriter(
    TickChannel channel,
    MarketState state,
    SubscriptionIndex fanOut,
    IngestStats stats,
    ILogger<MarketStateWriter> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                Run(stoppingToken);
                done.TrySetResult();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                done.TrySetResult();
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        })
        {
            IsBackground = true,
            Name = "market-state writer",
        };
        thread.Start();
        return done.Task;
    }

    private void Run(CancellationToken stoppingToken)
    {
        var reader = channel.Reader;
        using var ready = new ManualResetEventSlim(false, spinCount: 0);
        Action set = ready.Set;
        while (true)
        {
            while (reader.TryRead(out var envelope))
            {
                Apply(envelope);
            }

            // Empty: block this thread until the consumer writes again. The event does not spin before it sleeps:
            // a blocking Task wait would spin (sched_yield) every time the channel runs dry, hundreds of times a
            // second.
            var more = reader.WaitToReadAsync(stoppingToken);
            if (!more.IsCompleted)
            {
                ready.Reset();
                more.GetAwaiter().UnsafeOnCompleted(set);
                ready.Wait(CancellationToken.None);
            }

            if (!more.GetAwaiter().GetResult())
            {
                return;
            }
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

        try
        {
            fanOut.Publish(quote);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A fault in one session's state must not stop the market state for everyone.
            LogFanOutFailed(logger, ex, quote.Symbol);
        }
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Debug, Message = "Skipped a tick of {Symbol} at partition {Partition} offset {Offset}: not after the symbol's current seq (symbol written to more than one partition)")]
    private static partial void LogOutOfOrder(ILogger logger, string symbol, int partition, long offset);

    [LoggerMessage(EventId = 401, Level = LogLevel.Error, Message = "The fan-out of a {Symbol} quote failed")]
    private static partial void LogFanOutFailed(ILogger logger, Exception exception, string symbol);
}
