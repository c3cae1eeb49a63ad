using System.Diagnostics;
using MarketStream.Contracts;

namespace MarketStream.Ingest;

/// <summary>
/// A decoded tick with where it came from in Kafka. <see cref="Seq"/> is derived from the position, so
/// every replica gives the same tick the same number.
/// </summary>
/// <param name="Tick">The decoded tick.</param>
/// <param name="Partition">Kafka partition the record was read from.</param>
/// <param name="Offset">Kafka offset of the record.</param>
/// <param name="ProducerContext">The producer's trace context from a <c>traceparent</c> header, if any.</param>
public readonly record struct TickEnvelope(Tick Tick, int Partition, long Offset, ActivityContext ProducerContext)
{
    /// <summary>
    /// The protocol's <c>seq</c>: offset + 1. Producers key by symbol, so one symbol's ticks are in one
    /// partition and their offsets increase; the + 1 keeps 0 free for "nothing seen yet" in clients.
    /// </summary>
    public long Seq => Offset + 1;
}
