using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace MarketStream.Ingest;

/// <summary>
/// The one bounded hand-off between the Kafka consumer and the market state (DESIGN.md decision 3).
/// Full mode is <see cref="BoundedChannelFullMode.Wait"/>: the consumer waits and Kafka keeps the backlog,
/// so nothing is ever dropped at ingest.
/// </summary>
public sealed class TickChannel
{
    private readonly Channel<TickEnvelope> channel;

    public TickChannel(IOptions<IngestOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Capacity = options.Value.ChannelCapacity;
        channel = Channel.CreateBounded<TickEnvelope>(new BoundedChannelOptions(Capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = true,
        });
    }

    public int Capacity { get; }

    /// <summary>Ticks waiting for the market state.</summary>
    public int Count => channel.Reader.Count;

    public ChannelReader<TickEnvelope> Reader => channel.Reader;

    public ChannelWriter<TickEnvelope> Writer => channel.Writer;
}
