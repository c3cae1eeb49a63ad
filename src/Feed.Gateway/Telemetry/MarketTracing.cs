using System.Diagnostics;

namespace MarketStream.Gateway.Telemetry;

/// <summary>
/// The activity source for tick processing. A tick that arrives with a producer's <c>traceparent</c> gets a
/// span linked into the producer's trace (subject to sampling); ticks without one get none, and there is never
/// a span per tick per client.
/// </summary>
public static class MarketTracing
{
    public const string SourceName = "MarketStream.Market";

    internal static readonly ActivitySource Source = new(SourceName);
}
