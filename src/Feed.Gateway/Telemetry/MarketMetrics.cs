using System.Diagnostics.Metrics;
using MarketStream.Gateway.Market;

namespace MarketStream.Gateway.Telemetry;

/// <summary>Gauges of the market state and the process, on the <c>MarketStream.Market</c> meter.</summary>
public sealed class MarketMetrics
{
    public const string MeterName = "MarketStream.Market";

    public MarketMetrics(IMeterFactory meterFactory, MarketState state)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(state);
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableGauge("marketstream.market.symbols", () => state.Count, "{symbol}", "Symbols with a known quote.");
        meter.CreateObservableGauge("marketstream.process.working_set", () => Environment.WorkingSet, "By", "Resident memory of the gateway process.");
    }
}
