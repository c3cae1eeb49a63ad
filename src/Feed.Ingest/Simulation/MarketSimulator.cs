using Confluent.Kafka;
using MarketStream.Contracts;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MarketStream.Ingest.Simulation;

/// <summary>
/// Produces realistic ticks into the tick topic with the Confluent producer, at a steady configured rate.
/// Runs inside the gateway in embedded mode, and as the <c>Feed.Simulator</c> command against any cluster.
/// </summary>
public sealed partial class MarketSimulator : BackgroundService
{
    // The pacing step: ticks go out in small batches every 10 ms rather than one timer per tick.
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(10);

    private readonly KafkaConnection connection;
    private readonly SimulatorOptions options;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly LogThrottle failureLog;
    private long produced;
    private long failed;

    public MarketSimulator(KafkaConnection connection, IOptions<SimulatorOptions> options, TimeProvider time, ILogger<MarketSimulator> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.connection = connection;
        this.options = options.Value;
        this.time = time;
        this.logger = logger;
        failureLog = new LogThrottle(time, TimeSpan.FromSeconds(5));
    }

    /// <summary>Ticks handed to the producer so far.</summary>
    public long Produced => Interlocked.Read(ref produced);

    /// <summary>Ticks the broker did not accept.</summary>
    public long Failed => Interlocked.Read(ref failed);

    /// <summary>Whether this simulator runs at all: configured, or by default only with the embedded broker.</summary>
    public bool IsEnabled => options.Enabled ?? connection.Embedded is not null;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!IsEnabled)
        {
            return;
        }

        var universe = string.IsNullOrWhiteSpace(options.Symbols)
            ? SymbolUniverse.Default()
            : SymbolUniverse.From(ParseSymbols(options.Symbols));
        var model = new MarketModel(universe, options.PartialTickRatio, options.Seed ?? Environment.TickCount);
        using var producer = new ProducerBuilder<string, byte[]>(connection.Configure(new ProducerConfig
        {
            LingerMs = 1,

            // Acknowledged by every in-sync replica: with the leader's word alone, a leader lost before its
            // followers copied a tick loses it, and the topic's min.insync.replicas would guard nothing.
            Acks = Acks.All,
            EnableIdempotence = false,
            SocketNagleDisable = true,
            ClientId = "marketstream-simulator",
        })).Build();

        LogStarted(logger, model.SymbolCount, options.TicksPerSecond, connection.Topic);
        try
        {
            await RunAsync(producer, model, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown.
        }
        finally
        {
            producer.Flush(TimeSpan.FromSeconds(2));
            LogStopped(logger, Produced, Failed);
        }
    }

    private async Task RunAsync(IProducer<string, byte[]> producer, MarketModel model, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(Step, time);
        var started = time.GetTimestamp();
        var limit = options.MaxTicks ?? long.MaxValue;

        // Never try to catch up more than 100 ms of ticks after a stall: a simulator that bursts after a
        // pause would only distort what it is there to show.
        var maxBatch = Math.Max(1, options.TicksPerSecond / 10);
        long scheduled = 0, delivered = 0;
        while (delivered < limit && await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
        {
            var due = (long)(time.GetElapsedTime(started).TotalSeconds * options.TicksPerSecond) - scheduled;
            if (due > maxBatch)
            {
                // Drop the backlog of a stall rather than burst.
                scheduled += due - maxBatch;
                due = maxBatch;
            }

            var batch = Math.Min(due, limit - delivered);
            for (var i = 0; i < batch; i++)
            {
                if (!TryProduce(producer, model.Next(ServerMessages.UnixMicros(time.GetUtcNow()))))
                {
                    break;
                }

                delivered++;
            }

            // A step cut short by a full producer queue is not retried: the rate is a ceiling.
            scheduled += batch;
        }
    }

    private bool TryProduce(IProducer<string, byte[]> producer, Tick tick)
    {
        try
        {
            producer.Produce(connection.Topic, new Message<string, byte[]> { Key = tick.Symbol, Value = TickEncoder.ToUtf8(tick) }, OnDelivered);
            Interlocked.Increment(ref produced);
            return true;
        }
        catch (ProduceException<string, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
        {
            // The broker is slower than the configured rate (or down): skip the rest of this step.
            RecordFailure(ex.Error);
            return false;
        }
    }

    private void OnDelivered(DeliveryReport<string, byte[]> report)
    {
        if (report.Error.IsError)
        {
            RecordFailure(report.Error);
        }
    }

    private void RecordFailure(Error error)
    {
        Interlocked.Increment(ref failed);
        if (failureLog.ShouldLog(out var suppressed))
        {
            LogProduceFailed(logger, error.Code, error.Reason, suppressed);
        }
    }

    internal static IEnumerable<string> ParseSymbols(string list)
    {
        foreach (var part in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Contracts.Symbols.TryNormalize(part, out var symbol))
            {
                throw new OptionsValidationException(SimulatorOptions.Section, typeof(SimulatorOptions),
                    [$"Feed:Simulator:Symbols: '{part}' is not a valid symbol (1 to 32 of A-Z a-z 0-9 . _ : / -, first a letter or digit)."]);
            }

            yield return symbol;
        }
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Market simulator: {Symbols} symbols at {Rate} ticks/s into {Topic}")]
    private static partial void LogStarted(ILogger logger, int symbols, int rate, string topic);

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Market simulator stopped after {Produced} ticks ({Failed} not delivered)")]
    private static partial void LogStopped(ILogger logger, long produced, long failed);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "Simulator could not produce a tick: {Code} {Reason} ({Suppressed} similar failures not logged)")]
    private static partial void LogProduceFailed(ILogger logger, ErrorCode code, string reason, long suppressed);
}
