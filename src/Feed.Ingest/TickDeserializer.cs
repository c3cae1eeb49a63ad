using Confluent.Kafka;
using MarketStream.Contracts;

namespace MarketStream.Ingest;

/// <summary>A record value decoded: the tick, or why there is none.</summary>
public readonly record struct DecodedTick(TickRejectReason Reason, Tick? Tick);

/// <summary>
/// Decodes each record's value into a <see cref="Tick"/> inside the consumer's <c>Consume</c> call, reading
/// librdkafka's own buffer: no copy of the value into a byte array per record. Never throws, so a bad record
/// is counted and skipped like any other rejected tick rather than failing the consume call.
/// </summary>
/// <remarks>Used by the one consumer thread only, like the <see cref="TickDecoder"/> it wraps.</remarks>
internal sealed class TickDeserializer : IDeserializer<DecodedTick>
{
    private readonly TickDecoder decoder = new();

    public DecodedTick Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context)
    {
        var reason = decoder.Decode(isNull ? [] : data, out var tick);
        return new DecodedTick(reason, tick);
    }
}
